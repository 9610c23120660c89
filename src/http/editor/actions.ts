/**
 * The editor's forms: each parses its fields, calls one use case on behalf of the signed-in editor and answers with
 * a redirect to the page it came from (`?done=<code>` says what happened), or that page with the reason it did not.
 */
import type { Context } from 'hono';
import type { App } from '../../app.js';
import { findNewsletter, newsletterTimeZone } from '../../config.js';
import { cancelDigest, pauseDigest, resumeDigest } from '../../delivery/control-digest.js';
import { requestTestSend, TestRecipientsSchema } from '../../delivery/request-test-send.js';
import { scheduleDigest, unscheduleDigest } from '../../delivery/schedule-digest.js';
import { sendNow } from '../../delivery/send-now.js';
import { subjectFor } from '../../digests/build-digest-view.js';
import { createDraft } from '../../digests/create-draft.js';
import { DraftEditSchema, updateDraft, type DraftEdit } from '../../digests/update-draft.js';
import { isAppError, parseInput } from '../../errors.js';
import { parseSendTime } from '../../newsletters/send-time.js';
import { describeDigest } from '../../newsroom/describe-digest.js';
import type { HttpApp, HttpEnv } from '../http-env.js';
import {
  ComposeFormSchema,
  editFromComposeForm,
  NewDraftFormSchema,
  parseForm,
  RevisionFormSchema,
  ScheduleFormSchema,
  TestFormSchema,
} from './forms.js';
import { renderDigestPage } from './pages.js';
import { digestAndNewsletter, editorFailure, frameOf } from './editor-kit.js';

type EditorContext = Context<HttpEnv>;

async function formOf(c: EditorContext): Promise<Record<string, unknown>> {
  return (await c.req.parseBody({ all: true })) as Record<string, unknown>;
}

/** Back to the digest's page, saying what happened. */
function backToDigest(c: EditorContext, digestId: string, done: string) {
  return c.redirect(`/editor/digests/${digestId}?done=${done}`, 303);
}

/**
 * The digest page again with the reason an action failed, and what the editor typed kept in the form (a stale
 * revision shows the other editor's version of the rest, so saving again merges the two).
 */
async function digestPageWithError(
  app: App,
  c: EditorContext,
  digestId: string,
  error: unknown,
  typed: TypedBack = {},
) {
  if (!isAppError(error)) throw error;
  const found = await app.digests.get(digestId);
  if (!found) return editorFailure(app, c, error);
  const newsletter = findNewsletter(app.config, found.newsletterId);
  const detail = await describeDigest(app, { digestId, newsletter, site: app.config.site });
  if (!detail) return editorFailure(app, c, error);
  const composition = { ...detail.composition, ...typed.composition };
  const status = error.code === 'digest_state' ? 409 : error.code === 'input_invalid' ? 400 : 422;
  const page = renderDigestPage(
    frameOf(app, c),
    { ...detail, composition },
    {
      newsletter,
      timeZone: newsletterTimeZone(newsletter, app.config.site),
      composedSubject: subjectFor(newsletter, detail.articles, { letterTitle: composition.letter?.title }),
      error: error.message,
      testAddresses: typed.testAddresses,
    },
  );
  return c.html(page, status);
}

/** What an editor typed, to put back in the form after a refusal. */
interface TypedBack {
  composition?: {
    note?: string;
    subject?: string;
    preheader?: string;
    letter?: { title: string; body: string; author: string };
  };
  testAddresses?: string;
}

function typedFromEdit(
  edit: DraftEdit | undefined,
  letter: { title: string; body: string; author: string } | undefined,
) {
  if (!edit) return {};
  return {
    composition: {
      ...(edit.note !== undefined ? { note: edit.note } : {}),
      ...(edit.subject ? { subject: edit.subject } : {}),
      ...(edit.preheader ? { preheader: edit.preheader } : {}),
      ...(letter && edit.letter ? { letter: { ...letter, ...edit.letter } } : {}),
    },
  };
}

/** Registers the POST routes of the editor's forms. */
export function registerEditorActions(http: HttpApp, app: App): void {
  const site = app.config.site;

  http.post('/editor/newsletters/:id/drafts', async (c) => {
    try {
      const newsletter = findNewsletter(app.config, c.req.param('id'));
      const { kind } = parseForm(NewDraftFormSchema, await formOf(c));
      const by = c.get('principal');
      const { digest } = await createDraft(app, { newsletter, kind, createdBy: by, allowEmpty: true });
      return c.redirect(`/editor/digests/${digest.id}?done=${kind === 'digest' ? 'created' : 'saved'}`, 303);
    } catch (error) {
      return editorFailure(app, c, error);
    }
  });

  http.post('/editor/digests/:id', async (c) => {
    const digestId = c.req.param('id');
    let edit: DraftEdit | undefined;
    try {
      const { digest, newsletter } = await digestAndNewsletter(app, digestId);
      const form = parseForm(ComposeFormSchema, await formOf(c));
      edit = parseInput(DraftEditSchema, editFromComposeForm(form, digest.kind === 'letter'), 'the draft');
      await updateDraft(app, { digestId, newsletter, edit, by: c.get('principal') });
      return backToDigest(c, digestId, 'saved');
    } catch (error) {
      const letter = (await app.digests.getComposition(digestId).catch(() => undefined))?.letter;
      return digestPageWithError(app, c, digestId, error, typedFromEdit(edit, letter));
    }
  });

  http.post('/editor/digests/:id/test', async (c) => {
    const digestId = c.req.param('id');
    let typed = '';
    try {
      const form = parseForm(TestFormSchema, await formOf(c));
      typed = form.to;
      const to = parseInput(TestRecipientsSchema, form.to, 'to');
      await requestTestSend(app, { digestId, to, requestedBy: c.get('principal') });
      return backToDigest(c, digestId, 'test');
    } catch (error) {
      return digestPageWithError(app, c, digestId, error, { testAddresses: typed });
    }
  });

  http.post('/editor/digests/:id/send', async (c) => {
    const digestId = c.req.param('id');
    try {
      const { newsletter } = await digestAndNewsletter(app, digestId);
      const { revision } = parseForm(RevisionFormSchema, await formOf(c));
      await sendNow(app, { digestId, newsletter, site, by: c.get('principal'), expectedRevision: revision });
      return backToDigest(c, digestId, 'sent');
    } catch (error) {
      return digestPageWithError(app, c, digestId, error);
    }
  });

  http.post('/editor/digests/:id/schedule', async (c) => {
    const digestId = c.req.param('id');
    try {
      const { newsletter } = await digestAndNewsletter(app, digestId);
      const form = parseForm(ScheduleFormSchema, await formOf(c));
      const at = parseSendTime(form.at, newsletterTimeZone(newsletter, site));
      await scheduleDigest(app, {
        digestId,
        newsletter,
        site,
        at,
        by: c.get('principal'),
        expectedRevision: form.revision,
      });
      return backToDigest(c, digestId, 'scheduled');
    } catch (error) {
      return digestPageWithError(app, c, digestId, error);
    }
  });

  const control = (path: string, done: string, run: (digestId: string, by: string) => Promise<unknown>) =>
    http.post(`/editor/digests/:id/${path}`, async (c) => {
      const digestId = c.req.param('id');
      try {
        await run(digestId, c.get('principal'));
        return backToDigest(c, digestId, done);
      } catch (error) {
        return digestPageWithError(app, c, digestId, error);
      }
    });
  control('unschedule', 'unscheduled', (digestId, by) => unscheduleDigest(app, { digestId, by }));
  control('pause', 'paused', (digestId, by) => pauseDigest(app, { digestId, reason: `paused by ${by}` }));
  control('resume', 'resumed', (digestId) => resumeDigest(app, { digestId }));
  control('cancel', 'cancelled', (digestId, by) => cancelDigest(app, { digestId, by }));
}
