// /api/v1/friends: list and search, detail with every custom data value, one value's edit, the email, and CSV import.
// Every query is scoped by req.tenant.id (see src/crm/auth.ts).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../crm/auth.js';
import { friendCustomData, setCustomValue } from '../../crm/custom-data.js';
import { friendJson, getFriend, listFriends, PAGE_SIZE, setFriendEmail } from '../../crm/friends.js';
import {
  importFriendsCsv,
  MAX_CONCURRENT_IMPORTS,
  MAX_DATA_ROWS,
  MAX_FILE_BYTES,
  MAX_LINE_BYTES,
  MAX_RECORD_LINES,
  MAX_REPORTED_ERRORS,
} from '../../crm/import.js';
import { isEmail } from '../../crm/operators.js';
import { AppError, Codes } from '../../errors.js';

const idParam = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

export default async function friendRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', authenticate);

  app.get<{ Querystring: { q?: string; email?: string; page?: string; perPage?: string } }>(
    '/api/v1/friends',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: 'List friends, searching by name or email',
        querystring: {
          type: 'object',
          properties: {
            q: { type: 'string', maxLength: 200 },
            email: { type: 'string', maxLength: 254 },
            // strings so that an empty `page=` (as in `?email=&q=&page=`) means the first page instead of failing validation
            page: { type: 'string', pattern: '^[0-9]{0,6}$' },
            perPage: { type: 'string', pattern: '^[0-9]{0,3}$' },
          },
        },
      },
    },
    async (req) => {
      const page = Math.max(Number(req.query.page || 1), 1);
      const perPage = Math.min(Math.max(Number(req.query.perPage || PAGE_SIZE), 1), 200);
      const { items, total } = await listFriends(app.ctx.db.pool, req.tenant.id, { q: req.query.q, email: req.query.email, page, perPage });
      return { items: items.map(friendJson), total, page, perPage };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/friends/:id',
    { config: { auth: 'tenant' }, schema: { summary: 'A friend with every custom data value', params: idParam } },
    async (req) => {
      const friend = await getFriend(app.ctx.db.pool, req.tenant.id, req.params.id);
      if (!friend) throw new AppError(Codes.NOT_FOUND, `No friend ${req.params.id}.`);
      const data = await friendCustomData(app.ctx.db.pool, req.tenant.id, friend.id);
      return {
        ...friendJson(friend),
        customData: data.map((d) => ({
          fieldId: String(d.fieldId),
          categoryId: String(d.categoryId),
          category: d.category,
          name: d.name,
          type: d.type,
          value: d.value,
          readOnly: d.readOnly,
          updatedAt: d.updatedAt,
        })),
      };
    },
  );

  app.put<{ Params: { id: string; fieldId: string }; Body: { value?: unknown } }>(
    '/api/v1/friends/:id/custom-data/:fieldId',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: "Set one custom data value of a friend (null clears it); integration fields answer 403 READ_ONLY_FIELD",
        params: { type: 'object', properties: { id: { type: 'string' }, fieldId: { type: 'string' } }, required: ['id', 'fieldId'] },
      },
    },
    async (req) => {
      const body = z.object({ value: z.unknown() }).strict().parse(req.body ?? {});
      const value = await setCustomValue(app.ctx.db.pool, req.tenant.id, req.params.id, req.params.fieldId, body.value ?? null, app.ctx.clock.now());
      return { friendId: req.params.id, fieldId: req.params.fieldId, value };
    },
  );

  app.put<{ Params: { id: string }; Body: { email?: unknown } }>(
    '/api/v1/friends/:id/email',
    { config: { auth: 'tenant' }, schema: { summary: "Set a friend's email (null removes it); emits the email-changed event", params: idParam } },
    async (req) => {
      const body = z.object({ email: z.string().trim().max(254).nullable() }).strict().parse(req.body ?? {});
      if (body.email !== null && !isEmail(body.email)) throw new AppError(Codes.VALIDATION_FAILED, `${body.email} is not an email address.`);
      const friend = await getFriend(app.ctx.db.pool, req.tenant.id, req.params.id);
      if (!friend) throw new AppError(Codes.NOT_FOUND, `No friend ${req.params.id}.`);
      const changed = await setFriendEmail(app.ctx, req.tenant.id, friend.id, body.email, 'api');
      return { ...friendJson((await getFriend(app.ctx.db.pool, req.tenant.id, friend.id))!), changed };
    },
  );

  // CSV arrives as raw bytes: the encoding (UTF-8, BOM, Shift_JIS) is detected from them, not from the header. The body is
  // handed through as the request's stream, unread: the import reads it as it goes and enforces its size limit itself. Only
  // the import route takes these content types (elsewhere they answer 415 instead of a body nobody reads).
  await app.register(async (imports) => {
    imports.addContentTypeParser(['text/csv', 'text/plain', 'application/octet-stream'], (_req, payload, done) => done(null, payload));
    imports.post(
      '/api/v1/friends/import',
      {
        config: { auth: 'tenant' },
        bodyLimit: MAX_FILE_BYTES,
        schema: {
          summary: `Import friends from CSV (line_user_id,display_name,email; UTF-8, UTF-8 with BOM or Shift_JIS; up to ${MAX_FILE_BYTES / 1024 / 1024} MiB and ${MAX_DATA_ROWS} lines)`,
          description:
            `Limits: the file up to ${MAX_FILE_BYTES} bytes (larger: 413 PAYLOAD_TOO_LARGE), ${MAX_DATA_ROWS} data lines ` +
            `(the line after them is reported and the rest is not read), a line up to ${MAX_LINE_BYTES} bytes and a quoted field ` +
            `over at most ${MAX_RECORD_LINES} lines (longer: that line is reported and skipped). \`errors\` lists the first ` +
            `${MAX_REPORTED_ERRORS} errors by line, \`errorCount\` counts them all. A missing or wrong header: 400 INVALID_CSV, ` +
            `nothing imported. Rows are saved in batches as the file is read; at most ${MAX_CONCURRENT_IMPORTS} imports run at ` +
            `once (429 RATE_LIMITED otherwise).`,
          consumes: ['text/csv'],
        },
      },
      async (req) => {
        const body = req.body;
        if (!(body instanceof Readable)) {
          throw new AppError(Codes.UNSUPPORTED_MEDIA_TYPE, 'Send the CSV file as the request body with Content-Type: text/csv.');
        }
        try {
          if (Number(req.headers['content-length']) > MAX_FILE_BYTES) {
            throw new AppError(Codes.PAYLOAD_TOO_LARGE, `The file is larger than ${MAX_FILE_BYTES} bytes; split it (at most ${MAX_DATA_ROWS} lines per file).`);
          }
          return await importFriendsCsv(app.ctx, req.tenant.id, body);
        } finally {
          // An answer before the end of the body (an error, the line limit): read the rest and drop it, so that the client,
          // still sending, gets the answer instead of a reset connection.
          if (!body.readableEnded) body.resume();
        }
      },
    );
  });
}
