// The Kubernetes client's requests within the command's bounds. @kubernetes/client-node 1.4 sends
// through node-fetch with its default redirect: follow, which re-sends the kubeconfig's token to a
// redirect on the same host name (another port included), and reads bodies without a limit. Its
// configuration takes another HttpLibrary: this one sends with node:http(s) through the agent the
// library made from the kubeconfig (its CA, client certificate, proxy), follows no redirect, and
// reads the answer within the size limit and the deadline.
import { IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HttpLibrary, RequestContext, ResponseContext, SelfDecodingBody, wrapHttpLibrary } from '@kubernetes/client-node';
import { checkDeadline, deadlineOr, readBounded, redirectRefused, RequestBounds } from './bounded-fetch';

const FIX = 'the kubeconfig\'s server must be the API server itself (a redirect would carry its credentials elsewhere)';

async function send(context: RequestContext, bounds: RequestBounds): Promise<ResponseContext> {
  const url = new URL(context.getUrl());
  checkDeadline(bounds, url);
  const body = context.getBody();
  // verify only reads; a form or multipart body is never built here.
  if (body !== undefined && typeof body !== 'string') throw new Error(`the Kubernetes client built a ${context.getHttpMethod()} body this client does not send`);
  const own = context.getSignal();
  const signal = own ? AbortSignal.any([bounds.signal, own]) : bounds.signal;
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: context.getHttpMethod(), headers: context.getHeaders(), agent: context.getAgent(), signal }, resolve);
      request.on('error', reject);
      request.end(body);
    });
    const status = response.statusCode ?? 0;
    const refused = redirectRefused(status, response.headers.location, url, FIX);
    if (refused) {
      response.destroy();
      throw refused;
    }
    const bytes = await readBounded(response, bounds, url, response.headers['content-length']).catch((error) => {
      response.destroy();
      throw error;
    });
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value ?? '')]));
    return new ResponseContext(status, headers, new SelfDecodingBody(Promise.resolve(bytes)));
  } catch (error) {
    throw deadlineOr(error, bounds, url);
  }
}

/** The HttpLibrary for a Kubernetes API client made within `bounds`. */
export function boundedKubeHttp(bounds: RequestBounds): HttpLibrary {
  return wrapHttpLibrary({ send: (context) => send(context, bounds) });
}
