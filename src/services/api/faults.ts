/**
 * The Compute API's error bodies (`{"itemNotFound": {"code": 404, "message": "..."}}`)
 * and the one function that turns any thrown value into one: db, RPC, validation and
 * HTTP errors each map to a status and a message; a stack trace never leaves the process.
 */
import type { z } from 'zod';
import { DbError, isDbError } from '../../db/index.js';
import { MessagingTimeout, RpcError, TransportError } from '../../rpc/index.js';

const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** An error the API answers with `status` and `message`. */
export class ApiFault extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFault';
  }
}

export const badRequest = (message: string) => new ApiFault(400, message);
export const notFound = (message: string) => new ApiFault(404, message);
export const conflict = (message: string) => new ApiFault(409, message);
export const forbidden = (message: string) => new ApiFault(403, message);
export const parseBodyFault = (message: string) => new ApiFault(400, message);

/** The JSON body of a fault. */
export function faultBody(status: number, message: string): Record<string, { code: number; message: string }> {
  return { [FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } };
}

/** "Invalid input for field/attribute server.name: ..." for the first issues of a zod error. */
export function invalidInput(error: z.ZodError): ApiFault {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `Invalid input for field/attribute ${path}: ${issue.message}` : `Invalid input: ${issue.message}`;
  });
  return badRequest(parts.join('; '));
}

/** Status and message for any error. */
export function toFault(error: unknown): { status: number; message: string; unexpected: boolean } {
  if (error instanceof ApiFault) return { status: error.status, message: error.message, unexpected: false };
  if (error instanceof DbError) return dbFault(error);
  if (error instanceof MessagingTimeout) {
    return { status: 504, message: 'A service did not answer in time; try again later.', unexpected: false };
  }
  if (error instanceof TransportError) {
    return { status: 503, message: 'The message bus is unavailable; try again later.', unexpected: false };
  }
  if (error instanceof RpcError) return { status: 500, message: error.message, unexpected: true };
  const http = error as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof http.statusCode === 'number' && http.statusCode >= 400 && http.statusCode < 500) {
    const message = typeof http.message === 'string' ? http.message : 'Bad request';
    return { status: http.statusCode, message: http.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(message) ? `Malformed request body: ${message}` : message, unexpected: false };
  }
  return {
    status: 500,
    message: 'Unexpected API Error. Please report this at https://github.com/novarpc/novarpc/issues and attach the API log if possible.',
    unexpected: true,
  };
}

function dbFault(error: DbError): { status: number; message: string; unexpected: boolean } {
  if (error.code.endsWith('NotFound')) return { status: 404, message: error.message, unexpected: false };
  switch (error.code) {
    case 'UnexpectedTaskState':
    case 'DuplicateEntry':
    case 'ComputeResourcesUnavailable':
      return { status: 409, message: error.message, unexpected: false };
    case 'InvalidRequest':
      return { status: 400, message: error.message, unexpected: false };
    case 'NoMoreFloatingIps':
      return { status: 404, message: error.message, unexpected: false };
    case 'Forbidden':
      return { status: 403, message: error.message, unexpected: false };
    case 'DbConnectionError':
    case 'DbDeadlock':
      // The cause (host, port, driver error) goes to the log, never to the API user.
      return { status: 503, message: 'The database is unavailable; try again later.', unexpected: false };
    default:
      return { status: 500, message: 'Unexpected database error.', unexpected: true };
  }
}

/** A NotFound from a lookup in the request body is a 400, as Nova answers. */
export function notFoundAs400(message: string): (error: unknown) => never {
  return (error) => {
    if (isDbError(error) && error.code.endsWith('NotFound')) throw badRequest(message);
    throw error;
  };
}
