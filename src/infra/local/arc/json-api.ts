/** The cluster's AWS JSON 1.0 protocol: read and check the request, run the operation, answer or map the error. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from '../http-server.js';
import { ApiError, type Input, validation } from './api-input.js';
import type { Operation } from './operations.js';

const SERVICE_TARGET = 'ToggleCustomerAPI';
const ERROR_NAMESPACE = 'com.amazonaws.route53recoverycluster';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown, requestId: string, errorType?: string): void {
  const payload = JSON.stringify(body);
  const headers: OutgoingHttpHeaders = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(payload);
}

/** One request of the AWS JSON 1.0 protocol: `POST /` with `X-Amz-Target: ToggleCustomerAPI.<Operation>`. */
export async function handleArcRequest(
  req: IncomingMessage,
  res: ServerResponse,
  operations: Readonly<Record<string, Operation>>,
): Promise<void> {
  const requestId = randomUUID();
  try {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      req.resume();
      throw validation(
        `${req.method} ${req.url} is not an operation; the cluster API is POST / with X-Amz-Target`,
        'unknownOperation',
      );
    }
    const body = await readBody(req, MAX_BODY_BYTES).then(
      (bytes) => bytes.toString('utf8'),
      (error: unknown) => {
        if (error instanceof BodyTooLargeError) {
          req.resume(); // drained, so the error answer is read rather than the connection reset
          throw validation(`request body exceeds ${MAX_BODY_BYTES} bytes`, 'other');
        }
        throw error;
      },
    );
    const target = req.headers['x-amz-target'];
    const [service, operationName] = typeof target === 'string' ? target.split('.', 2) : [];
    const operation =
      service === SERVICE_TARGET && operationName && Object.hasOwn(operations, operationName)
        ? operations[operationName]
        : undefined;
    if (!operation) {
      throw validation(
        `unknown operation ${String(target ?? '(no X-Amz-Target header)')}; expected ${SERVICE_TARGET}.` +
          `{${Object.keys(operations).join(',')}}`,
        'unknownOperation',
      );
    }
    let input: unknown = {};
    if (body.trim().length > 0) {
      try {
        input = JSON.parse(body);
      } catch (error) {
        throw validation(`request body is not valid JSON: ${(error as Error).message}`, 'cannotParse');
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw validation('request body must be a JSON object', 'cannotParse');
    }
    send(res, 200, operation(input as Input), requestId);
  } catch (error) {
    const apiError =
      error instanceof ApiError
        ? error
        : new ApiError('InternalServerException', 500, `internal error: ${(error as Error)?.message ?? error}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(
      res,
      apiError.status,
      { __type: `${ERROR_NAMESPACE}#${apiError.type}`, message: apiError.message, ...apiError.members },
      requestId,
      apiError.type,
    );
  }
}
