import { z } from 'zod';
import { MAX_GUEST_MEMORY, welcomeSchema } from './attach-protocol.js';

/**
 * How a guest inside a virtual machine attaches. The VM has one shared-memory device (an
 * ivshmem BAR) that the host created before booting it, and one byte stream to the host (a
 * virtio-serial port): no descriptors can cross, so the host lays the guest's regions out
 * side by side in the device and says where, and the guest maps each window of its BAR.
 *
 *   guest → host   the attach request of the process protocol (attachRequestSchema), on the port
 *   host  → guest  one JSON line: a welcome whose regions also carry `offset` in the device, or
 *                  {"type":"error","message":"…"}
 *   then           doorbells, one byte each way (ATTACH_DOORBELLS), exactly as for a process
 *
 * Offsets are page-aligned; every window lies inside the device.
 */
const windowSchema = z.object({
  id: z.number().int().min(0).max(0xffff_ffff),
  size: z.number().int().min(1).max(MAX_GUEST_MEMORY),
  offset: z.number().int().min(0).max(MAX_GUEST_MEMORY),
});

export const vmWelcomeSchema = welcomeSchema.extend({
  control: windowSchema,
  data: windowSchema,
  memory: windowSchema.nullable(),
});
export type VmWelcome = z.infer<typeof vmWelcomeSchema>;
