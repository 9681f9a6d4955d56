// Transport faults a Shopify client has to survive, armed by count ("the next 2 GraphQL calls") rather than by time so
// tests stay deterministic: a 5xx page, 429 with Retry-After, a request that never gets an answer, a cut-off JSON body,
// and a connection reset.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type FaultKind = '5xx' | '429' | 'timeout' | 'malformed' | 'reset';
/** Which requests a fault applies to: the Admin API (GraphQL and REST, the default), one of them, the token endpoint, bulk downloads, or any. */
export type FaultTarget = 'api' | 'graphql' | 'rest' | 'oauth' | 'bulk' | 'any';
export type Route = 'graphql' | 'rest' | 'oauth' | 'bulk';

export interface Fault {
  kind: FaultKind;
  /** HTTP status for '5xx' (500, 502, 503, 504; default 500). */
  status?: number;
  /** Retry-After seconds for '429' (default 2) and, when given, '5xx'. */
  retryAfter?: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  on?: FaultTarget;
}

interface Armed {
  fault: Fault;
  left: number;
}

export class FaultQueue {
  private armed: Armed[] = [];

  arm(fault: Fault): void {
    const count = fault.count ?? 1;
    if (count > 0) this.armed.push({ fault: { ...fault }, left: count });
  }

  clear(): void {
    this.armed = [];
  }

  pending(): Fault[] {
    return this.armed.map((a) => ({ ...a.fault, count: a.left }));
  }

  /** The fault for this request, if one is armed for its route; consumes one use. */
  take(route: Route): Fault | null {
    const i = this.armed.findIndex((a) => applies(a.fault.on ?? 'api', route));
    if (i < 0) return null;
    const a = this.armed[i];
    if (--a.left <= 0) this.armed.splice(i, 1);
    return a.fault;
  }
}

function applies(target: FaultTarget, route: Route): boolean {
  if (target === 'any') return true;
  if (target === 'api') return route === 'graphql' || route === 'rest';
  return target === route;
}

const HTML_5XX: Record<number, string> = {
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Answers (or refuses to answer) the request the way the fault describes. */
export function applyFault(fault: Fault, route: Route, req: IncomingMessage, res: ServerResponse): void {
  switch (fault.kind) {
    case '5xx': {
      const status = fault.status ?? 500;
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      if (HTML_5XX[status]) {
        // Shopify's edge answers gateway errors with an HTML page: clients must not assume JSON on a 5xx.
        res.writeHead(status, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
        res.end(`<!DOCTYPE html><html><head><title>${status} ${HTML_5XX[status]}</title></head><body><h1>${HTML_5XX[status]}</h1><p>There was a problem loading this website. Please try again.</p></body></html>`);
      } else {
        res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ errors: status === 500 ? 'Internal Server Error' : `HTTP ${status}` }));
      }
      return;
    }
    case '429': {
      res.writeHead(429, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': String(fault.retryAfter ?? 2) });
      const body =
        route === 'graphql'
          ? { errors: [{ message: 'Too Many Requests', extensions: { code: 'TOO_MANY_REQUESTS' } }] }
          : { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' };
      res.end(JSON.stringify(body));
      return;
    }
    case 'timeout':
      // Never answer; the socket is destroyed when the client gives up or the server closes.
      req.resume();
      return;
    case 'malformed':
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end('{"data":{"customers":{"edges":[{"node":{"id":"gid://shopify/Customer/7000000000');
      return;
    case 'reset': {
      const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void };
      if (socket.resetAndDestroy) socket.resetAndDestroy();
      else socket.destroy();
      return;
    }
  }
}
