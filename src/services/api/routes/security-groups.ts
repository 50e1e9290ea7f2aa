/**
 * The security-group proxy APIs (up to 2.35; 404 from 2.36, as Nova): /os-security-groups
 * (per project, with a `default` group made on first use) and /os-security-group-rules
 * (protocol and port range from a CIDR or from another group's members), plus
 * GET /servers/{id}/os-security-groups (every microversion).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isDbError, type Db, type SecurityGroupRow } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import { elevated } from '../../context.js';
import { badRequest, notFound } from '../faults.js';
import { since } from '../microversion.js';
import { securityGroupRuleView, securityGroupView } from '../resource-views.js';
import { parseBody } from '../schemas.js';
import { contextOf, param } from './context.js';

const PROXY = since(undefined, '2.35');

const groupBody = z.object({
  security_group: z.looseObject({ name: z.string().trim().min(1).max(255), description: z.string().max(255).default('') }),
});

const port = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]).pipe(z.number().int().min(-1).max(65535));
const ruleBody = z.object({
  security_group_rule: z.looseObject({
    parent_group_id: z.union([z.string().min(1), z.number().int().transform(String)]),
    ip_protocol: z.string().toLowerCase().pipe(z.enum(['tcp', 'udp', 'icmp'])).nullish(),
    from_port: port.nullish(),
    to_port: port.nullish(),
    cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'Invalid CIDR').nullish(),
    group_id: z.union([z.string().min(1), z.number().int().transform(String)]).nullish(),
  }),
});

/** Registers the security group routes. */
export function securityGroupRoutes(app: FastifyInstance, db: Db): void {
  /** Views of `groups` with their rules and the rules' source groups. */
  const render = async (ctx: RequestContext, groups: readonly SecurityGroupRow[]) => {
    const rules = await db.securityGroups.listRules(ctx, groups.map((group) => group.id));
    const sources = new Map<number, SecurityGroupRow>();
    for (const id of new Set(rules.map((rule) => rule.group_id).filter((id): id is number => id !== null))) {
      sources.set(id, await db.securityGroups.get(elevated(ctx), id));
    }
    return groups.map((group) => securityGroupView(group, rules, sources));
  };
  const project = (ctx: RequestContext) => ctx.projectId ?? '';

  app.get('/os-security-groups', PROXY, async (request) => {
    const ctx = contextOf(request);
    await db.securityGroups.ensureDefault(elevated(ctx), project(ctx));
    return { security_groups: await render(ctx, await db.securityGroups.list(ctx, project(ctx))) };
  });

  app.get('/os-security-groups/:id', PROXY, async (request) => {
    const ctx = contextOf(request);
    const [view] = await render(ctx, [await db.securityGroups.get(ctx, param(request, 'id'))]);
    return { security_group: view };
  });

  app.post('/os-security-groups', PROXY, async (request) => {
    const ctx = contextOf(request);
    const { security_group: values } = parseBody(groupBody, request.body);
    const group = await db.securityGroups
      .create(ctx, { name: values.name, description: values.description, project_id: project(ctx), user_id: ctx.userId ?? null })
      .catch((error: unknown) => {
        if (isDbError(error, 'DuplicateEntry')) throw badRequest(`Security group ${values.name} already exists`);
        throw error;
      });
    return { security_group: securityGroupView(group, [], new Map()) };
  });

  app.put('/os-security-groups/:id', PROXY, async (request) => {
    const ctx = contextOf(request);
    const { security_group: values } = parseBody(groupBody, request.body);
    const group = await db.securityGroups.update(ctx, param(request, 'id'), { name: values.name, description: values.description });
    const [view] = await render(ctx, [group]);
    return { security_group: view };
  });

  app.delete('/os-security-groups/:id', PROXY, async (request, reply) => {
    await db.securityGroups.delete(contextOf(request), param(request, 'id'));
    return reply.code(202).send();
  });

  app.post('/os-security-group-rules', PROXY, async (request) => {
    const ctx = contextOf(request);
    const { security_group_rule: rule } = parseBody(ruleBody, request.body);
    const parent = await db.securityGroups.get(ctx, rule.parent_group_id).catch(notFoundAs(`Security group ${rule.parent_group_id} not found.`));
    const source = rule.group_id ? await db.securityGroups.get(ctx, rule.group_id).catch(notFoundAs(`Security group ${rule.group_id} not found.`)) : undefined;
    const values = ruleValues(rule, parent.id, source?.id ?? null);
    const existing = await db.securityGroups.listRules(ctx, [parent.id]);
    if (existing.some((row) => row.protocol === values.protocol && row.from_port === values.from_port && row.to_port === values.to_port && row.cidr === values.cidr && row.group_id === values.group_id)) {
      throw badRequest(`This rule already exists in group ${parent.uuid}`);
    }
    const created = await db.securityGroups.createRule(ctx, values);
    return { security_group_rule: securityGroupRuleView(created, parent, new Map(source ? [[source.id, source]] : [])) };
  });

  app.delete('/os-security-group-rules/:id', PROXY, async (request, reply) => {
    await db.securityGroups.deleteRule(contextOf(request), param(request, 'id'));
    return reply.code(202).send();
  });

  app.get('/servers/:id/os-security-groups', async (request) => {
    const ctx = contextOf(request);
    const instance = await db.instances.get(ctx, param(request, 'id'));
    return { security_groups: await render(ctx, await db.securityGroups.listForInstance(elevated(ctx), instance.uuid)) };
  });
}

/** The columns of a rule, checked as Nova checks them. */
function ruleValues(rule: z.output<typeof ruleBody>['security_group_rule'], parentId: number, sourceId: number | null) {
  const protocol = rule.ip_protocol ?? null;
  if (!protocol && sourceId === null) throw badRequest('Not enough parameters to build a valid rule.');
  const from = rule.from_port ?? (protocol === null ? null : protocol === 'icmp' ? -1 : 1);
  const to = rule.to_port ?? (protocol === null ? null : protocol === 'icmp' ? -1 : 65535);
  if (protocol === 'tcp' || protocol === 'udp') {
    if (from === null || to === null || from < 1 || to < 1) throw badRequest('Invalid port range 1:65535. Valid TCP ports should be between 1-65535');
    if (from > to) throw badRequest(`Invalid port range ${from}:${to}. Former value cannot be greater than the later`);
  }
  if (protocol === 'icmp' && ((from ?? 0) > 255 || (to ?? 0) > 255)) throw badRequest(`Invalid port range ${from}:${to}. ICMP type and code must be between -1 and 255`);
  const cidr = sourceId === null ? rule.cidr ?? '0.0.0.0/0' : null;
  return { parent_group_id: parentId, protocol, from_port: from, to_port: to, cidr, group_id: sourceId };
}

function notFoundAs(message: string): (error: unknown) => never {
  return (error) => {
    if (isDbError(error, 'SecurityGroupNotFound')) throw notFound(message);
    throw error;
  };
}
