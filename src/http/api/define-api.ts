/**
 * A small JSON API kit: a route is declared once with its zod schemas (path parameters, query, body, response), and
 * that one declaration both registers the Hono handler (parse, call, shape the answer) and describes the operation
 * in the OpenAPI document. Answers are passed through their response schema, so they hold exactly what is documented.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { AppError, httpStatusFor, isAppError, parseInput } from '../../errors.js';
import type { HttpApp, HttpEnv } from '../http-env.js';
import { ApiErrorSchema } from './schemas.js';

/** What a handler receives: everything parsed, and who is asking. */
export interface ApiInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: string;
}

/** One operation of the API. */
export interface ApiRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: 'get' | 'post' | 'patch';
  /** The operation's name in the OpenAPI document, e.g. `sendDigest`. */
  operationId: string;
  /** OpenAPI form below the base path: `/digests/{id}`. */
  path: string;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** @defaultValue 200 */
  status?: 200 | 201 | 202;
  handle(input: ApiInput<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<z.input<R>>;
}

const NO_INPUT = z.object({});

/** The JSON error answer for an expected failure; anything else propagates (a 500). */
export function apiError(c: Context<HttpEnv>, error: unknown) {
  if (!isAppError(error)) throw error;
  return c.json({ error: { code: error.code, message: error.message } }, httpStatusFor(error.code) as 400);
}

async function readJsonBody(c: Context<HttpEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError('input_invalid', 'body: send JSON with Content-Type: application/json');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('input_invalid', `body: not valid JSON (${(error as Error).message})`);
  }
}

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!(schema instanceof z.ZodObject)) return [];
  const json = toJsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** Declares routes under a base path and builds the OpenAPI document of those declared. */
export function createApi(http: HttpApp, basePath: string) {
  const operations: Record<string, Record<string, unknown>> = {};

  function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
    spec: ApiRoute<P, Q, B, R>,
  ): void {
    const honoPath = basePath + spec.path.replace(/\{(\w+)\}/g, ':$1');
    http.on(spec.method.toUpperCase(), honoPath, async (c) => {
      try {
        const params = parseInput(spec.params ?? NO_INPUT, c.req.param(), 'path');
        const query = parseInput(spec.query ?? NO_INPUT, c.req.query(), 'query');
        const body = spec.body ? parseInput(spec.body, await readJsonBody(c), 'body') : {};
        const result = await spec.handle({ params, query, body, principal: c.get('principal') } as ApiInput<
          z.infer<P>,
          z.infer<Q>,
          z.infer<B>
        >);
        return c.json(spec.response.parse(result) as object, spec.status ?? 200);
      } catch (error) {
        return apiError(c, error);
      }
    });

    const errorResponse = {
      description: 'An error: the code, and the field and reason',
      content: { 'application/json': { schema: toJsonSchema(ApiErrorSchema, 'output') } },
    };
    const path = (operations[spec.path] ??= {});
    path[spec.method] = {
      summary: spec.summary,
      operationId: spec.operationId,
      parameters: [...parametersOf(spec.params, 'path'), ...parametersOf(spec.query, 'query')],
      ...(spec.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: toJsonSchema(spec.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [String(spec.status ?? 200)]: {
          description: 'Done',
          content: { 'application/json': { schema: toJsonSchema(spec.response, 'output') } },
        },
        '400': errorResponse,
        '401': { description: 'No token, or a wrong one' },
        '404': errorResponse,
        '409': errorResponse,
        '429': { description: 'Too many failed attempts from this address' },
      },
    };
  }

  /** The OpenAPI 3.1 document of every route declared so far. */
  function openApiDocument(info: { title: string; version: string; description: string }) {
    return {
      openapi: '3.1.0',
      info,
      servers: [{ url: basePath }],
      security: [{ bearer: [] }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths: operations,
    };
  }

  return { route, openApiDocument };
}
