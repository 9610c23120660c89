/** The Hono environment of every route: what middleware hands to the handlers after it. */
import type { Hono } from 'hono';

/** Per-request values set by middleware. */
export interface HttpVariables {
  /** The name of the editor or operator whose token authenticated the request (`EDITOR_TOKENS`, `OPS_TOKENS`). */
  principal: string;
  /** A fresh nonce for the page's own script; a page that uses it sets its own Content-Security-Policy. */
  cspNonce: string;
}

/** The Hono environment type of our server. */
export interface HttpEnv {
  Variables: HttpVariables;
}

/** Our Hono application type. */
export type HttpApp = Hono<HttpEnv>;
