// Property-based fuzzing of the admin UI, the login, the LIFF page and its POST, and the static assets: forms with the session's
// CSRF token, hostile query strings and path parameters; plus POST /login with a correct password and a hostile `next`.
import fc from 'fast-check';
import { formBody, hostileString, percentEncode } from './arbitraries.js';
import { defineFuzzSuite } from './suite.js';
import type { Plan } from './world.js';

defineFuzzSuite('pages', {
  extras: [
    {
      // After a successful login the form redirects to `next` when it is a local path: any local path, however odd.
      name: 'POST /login with the right password and a hostile next',
      weight: 1,
      cap: { runs: 20, shrink: 10 },
      arb: (w) =>
        fc
          .tuple(
            fc.oneof(
              { weight: 4, arbitrary: hostileString.map((s) => '/' + s) },
              { weight: 1, arbitrary: hostileString },
              { weight: 1, arbitrary: fc.constantFrom('/é', '/\u0000', '/\r\nSet-Cookie: x=1', '/%0d%0a', '/\u2028', '//evil.example', '/\\evil', '/😀', '/\uD800', '/%ff') },
            ),
            fc.boolean(),
          )
          .map(([next, raw]): Plan => ({
            method: 'POST',
            route: '/login',
            url: '/login',
            auth: 'login-csrf',
            body: {
              payload: formBody([['email', w.loginOperator.email], ['password', w.loginOperator.password], ['next', next]], raw),
              contentType: 'application/x-www-form-urlencoded',
              form: true,
            },
          })),
    },
    {
      // GET /login?next=… renders the value into the form
      name: 'GET /login?next= hostile',
      weight: 1,
      arb: () => hostileString.map((s): Plan => ({ method: 'GET', route: '/login', url: `/login?next=${percentEncode('/' + s)}`, auth: 'none' })),
    },
  ],
});
