/**
 * /servers/{id}/tags (from 2.26): list, replace, clear, and one tag at a time (check →
 * 204/404, add → 201/204, remove → 204/404), as Nova's server-tags API.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../../db/index.js';
import { notFound } from '../faults.js';
import { since } from '../microversion.js';
import { parseBody, tagSchema } from '../schemas.js';
import { baseUrl, contextOf, param } from './context.js';

const TAGS = since('2.26');
const tagsBody = z.object({ tags: z.array(tagSchema).max(50) });

/** Registers the server tag routes. */
export function serverTagRoutes(app: FastifyInstance, db: Db): void {
  const tag = (request: FastifyRequest) => parseBody(tagSchema, param(request, 'tag'), 'tag');

  app.get('/servers/:id/tags', TAGS, async (request) => ({ tags: await db.instanceTags.list(contextOf(request), param(request, 'id')) }));

  app.put('/servers/:id/tags', TAGS, async (request) => {
    const { tags } = parseBody(tagsBody, request.body);
    return { tags: await db.instanceTags.set(contextOf(request), param(request, 'id'), tags) };
  });

  app.delete('/servers/:id/tags', TAGS, async (request, reply) => {
    await db.instanceTags.set(contextOf(request), param(request, 'id'), []);
    return reply.code(204).send();
  });

  app.get('/servers/:id/tags/:tag', TAGS, async (request, reply) => {
    const tags = await db.instanceTags.list(contextOf(request), param(request, 'id'));
    if (!tags.includes(tag(request))) throw notFound(`Instance ${param(request, 'id')} has no tag '${tag(request)}'`);
    return reply.code(204).send();
  });

  app.put('/servers/:id/tags/:tag', TAGS, async (request, reply) => {
    const added = await db.instanceTags.add(contextOf(request), param(request, 'id'), tag(request));
    if (added) reply.header('location', `${baseUrl(request)}/servers/${param(request, 'id')}/tags/${encodeURIComponent(tag(request))}`);
    return reply.code(added ? 201 : 204).send();
  });

  app.delete('/servers/:id/tags/:tag', TAGS, async (request, reply) => {
    await db.instanceTags.delete(contextOf(request), param(request, 'id'), tag(request));
    return reply.code(204).send();
  });
}
