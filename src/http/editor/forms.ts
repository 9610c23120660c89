/** The editor's forms, parsed at the edge: each field named in the error, strings only, sizes bounded. */
import { z } from 'zod';
import type { DraftEdit } from '../../digests/update-draft.js';
import { moveArticle, type ArticleMove } from '../../digests/update-draft.js';
import { AppError, formatZodIssues } from '../../errors.js';

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
/** A form field sent once or several times, as a list. */
const repeated = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));

/** The compose form: the draft's fields, its articles in order, and which button was pressed. */
export const ComposeFormSchema = z.object({
  revision: z.coerce.number().int().min(0),
  articleIds: repeated,
  op: z
    .string()
    .regex(/^(save|(up|down|remove|add):[a-f0-9]{16,64})$/, 'is not a button of this form')
    .default('save'),
  subject: text(200).optional(),
  preheader: text(200).optional(),
  note: text(20_000).optional(),
  letterTitle: text(200).optional(),
  letterBody: text(100_000).optional(),
  letterAuthor: text(120).optional(),
});
export type ComposeForm = z.infer<typeof ComposeFormSchema>;

/** A new draft: a digest or a letter. */
export const NewDraftFormSchema = z.object({ kind: z.enum(['digest', 'letter']).default('digest') });

/** A form that only confirms a revision (send now). */
export const RevisionFormSchema = z.object({ revision: z.coerce.number().int().min(0).optional() });

/** The schedule form: a `datetime-local` value, read in the newsletter's zone. */
export const ScheduleFormSchema = z.object({
  at: text(40).min(1, 'choose a time'),
  revision: z.coerce.number().int().min(0).optional(),
});

/** The test form: the addresses as typed. */
export const TestFormSchema = z.object({ to: text(2000) });

/** Parses a form body with a schema; refuses uploaded files; throws `input_invalid` naming each field. */
export function parseForm<S extends z.ZodType>(schema: S, body: Record<string, unknown>): z.infer<S> {
  for (const [field, value] of Object.entries(body)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((item) => typeof item !== 'string')) {
      throw new AppError('input_invalid', `${field}: files are not accepted here`);
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new AppError('input_invalid', formatZodIssues(parsed.error));
  return parsed.data;
}

/** The draft edit a compose form asks for: its fields, and its article list after the pressed button's move. */
export function editFromComposeForm(form: ComposeForm, isLetter: boolean): DraftEdit {
  const [kind, articleId] = form.op.split(':') as [ArticleMove['kind'] | 'save', string | undefined];
  const articleIds =
    kind === 'save' || !articleId ? form.articleIds : moveArticle(form.articleIds, { kind, articleId });
  return {
    revision: form.revision,
    articleIds,
    note: form.note,
    subject: form.subject,
    preheader: form.preheader,
    ...(isLetter
      ? {
          letter: {
            ...(form.letterTitle?.trim() ? { title: form.letterTitle } : {}),
            ...(form.letterBody !== undefined ? { body: form.letterBody } : {}),
            ...(form.letterAuthor?.trim() ? { author: form.letterAuthor } : {}),
          },
        }
      : {}),
  };
}
