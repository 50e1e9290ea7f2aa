/**
 * The fastify server every OpenStack-style HTTP API of novarpc starts from (the Compute
 * API, the instance HA API): request ids `req-<uuid>` logged as request_id, a 1 MiB body
 * limit, 503 while closing, router errors and malformed JSON answered in the Compute
 * API's fault shape (an overlong path segment is simply not found).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from '../../log/logger.js';
import { generateRequestId } from '../../rpc/index.js';
import { ApiFault, faultBody } from './faults.js';

/** A fastify app with the common options, the `novaContext` decoration and the JSON body parser. */
export function createApiServer(logger: Logger, options: { ignoreTrailingSlash?: boolean } = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: () => generateRequestId(),
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ...(options.ignoreTrailingSlash ? { routerOptions: { ignoreTrailingSlash: true } } : {}),
    frameworkErrors: (error, _request, reply) => {
      const tooLong = (error as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH';
      const status = tooLong ? 404 : 400;
      void (reply as FastifyReply).code(status).send(faultBody(status, tooLong ? 'The resource could not be found.' : 'Malformed request URL.'));
    },
  });
  app.decorateRequest('novaContext', null);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ApiFault(400, `Malformed request body: ${(error as Error).message}`), undefined);
    }
  });
  return app;
}
