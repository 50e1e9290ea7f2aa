/**
 * The server fields later microversions add or reshape (Nova's views/servers.py):
 * 2.3 extended attributes (admin), 2.9 `locked`, 2.16 `host_status` (admin),
 * 2.19 `description`, 2.26 `tags`, 2.47 the flavor embedded, 2.63
 * `trusted_image_certificates`, 2.71 `server_groups`, 2.73 `locked_reason`.
 */
import type { InstanceRow } from '../../db/index.js';
import { isAtLeast, type Microversion } from './microversion.js';
import type { ServerDetails } from './views.js';

/** The fields of `mv` beyond 2.1's view. */
export function microversionFields(instance: InstanceRow, details: ServerDetails, mv: Microversion): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (details.isAdmin && isAtLeast(mv, '2.3')) {
    Object.assign(fields, {
      'OS-EXT-SRV-ATTR:reservation_id': `r-${instance.id.toString(36).padStart(8, '0')}`,
      'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:hostname': instance.hostname,
      'OS-EXT-SRV-ATTR:kernel_id': '',
      'OS-EXT-SRV-ATTR:ramdisk_id': '',
      'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
      'OS-EXT-SRV-ATTR:user_data': null,
    });
  }
  if (isAtLeast(mv, '2.9')) fields.locked = instance.locked;
  if (details.isAdmin && isAtLeast(mv, '2.16')) fields.host_status = instance.host ? 'UP' : '';
  if (isAtLeast(mv, '2.19')) fields.description = instance.display_description;
  if (isAtLeast(mv, '2.26')) fields.tags = details.tags;
  if (isAtLeast(mv, '2.47')) fields.flavor = embeddedFlavor(instance, details);
  if (isAtLeast(mv, '2.63')) fields.trusted_image_certificates = null;
  if (isAtLeast(mv, '2.71')) fields.server_groups = [];
  if (isAtLeast(mv, '2.73')) fields.locked_reason = instance.locked_reason;
  return fields;
}

/** The flavor as the server was built with it (2.47). */
function embeddedFlavor(instance: InstanceRow, details: ServerDetails): Record<string, unknown> {
  return {
    original_name: details.flavor?.name ?? String(instance.instance_type_id),
    vcpus: instance.vcpus ?? details.flavor?.vcpus ?? 0,
    ram: instance.memory_mb ?? details.flavor?.memory_mb ?? 0,
    disk: instance.root_gb ?? details.flavor?.root_gb ?? 0,
    ephemeral: instance.ephemeral_gb ?? details.flavor?.ephemeral_gb ?? 0,
    swap: details.flavor?.swap ?? 0,
    extra_specs: details.flavorExtraSpecs,
  };
}
