import { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * What a page of ours may load: its own scripts, styles, images and API, nothing inline and
 * nothing from elsewhere; no plugins, no <base>, and no framing by any site (clickjacking).
 * The dashboard (a Vite build: one module script and one stylesheet, styles set from script
 * through the CSSOM) needs no more.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Security headers on every response (helmet: CSP, no X-Powered-By, nosniff, no framing,
 * no referrer leaks …). Swagger UI's page (`docsPath`) carries inline styles: it alone
 * may use them.
 */
export function secureHeaders(server: FastifyInstance, docsPath: string): void {
  // No upgrade-insecure-requests (a default of helmet's): over plain HTTP on a local port
  // it would send every asset to an https:// that does not exist.
  const withPolicy = (directives: typeof CONTENT_SECURITY_POLICY) =>
    // X-Frame-Options for browsers without frame-ancestors, saying the same.
    helmet({ contentSecurityPolicy: { useDefaults: false, directives }, frameguard: { action: 'deny' } });
  const strict = withPolicy(CONTENT_SECURITY_POLICY);
  const docs = withPolicy({ ...CONTENT_SECURITY_POLICY, 'style-src': ["'self'", "'unsafe-inline'"] });
  // helmet sets them on Node's response, where Fastify's own headers join them.
  server.addHook('onRequest', (request, reply, done) =>
    (request.url.startsWith(`/${docsPath}`) ? docs : strict)(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)),
  );
}
