/**
 * The one place novarpc reaches into amqplib's internals: the socket under a
 * connection, to coalesce the frames written in one tick into one `writev`.
 *
 * amqplib has no public way to batch writes, nor to reach its socket: a
 * `ChannelModel` keeps its protocol `Connection` as `.connection`, and that keeps the
 * `net.Socket` (or `tls.TLSSocket`) it writes every frame to as `.stream` (amqplib
 * 0.10 to 2.x). {@link socketOf} checks that shape and returns undefined when it is
 * not there, so a change in amqplib turns the optimisation off (never breaks
 * publishing); test/unit/write-coalescing.test.ts checks the shape against the
 * installed amqplib and fails, saying so, when it changed.
 *
 * What it does: the first write of a tick goes out at once (a lone request/reply pays
 * nothing extra); when a second one follows in the same tick the socket is corked,
 * so the rest of the tick's frames leave in one `writev` instead of one syscall (and,
 * with TCP_NODELAY, one packet) each. amqplib flushes its channel buffers in batches,
 * so under load this turns many small writes into a few large ones.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ChannelModel } from 'amqplib';

/**
 * The socket amqplib writes `model`'s frames to, or undefined when amqplib's
 * internals no longer have the shape this module relies on.
 */
export function socketOf(model: ChannelModel): Socket | undefined {
  const connection = (model as unknown as { connection?: { stream?: unknown } }).connection;
  const stream = connection?.stream;
  if (!(stream instanceof Duplex)) return undefined;
  const socket = stream as Socket;
  if (typeof socket.cork !== 'function' || typeof socket.uncork !== 'function' || typeof socket.write !== 'function') return undefined;
  return socket;
}

/**
 * Makes the frames `model` writes in one tick leave together (see the module comment).
 * Returns false, changing nothing, when amqplib's socket cannot be reached.
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const socket = socketOf(model);
  if (socket === undefined) return false;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let writesThisTick = 0;
  let corked = false;
  const endOfTick = () => {
    writesThisTick = 0;
    if (corked) {
      corked = false;
      socket.uncork();
    }
  };
  socket.write = ((...args: unknown[]) => {
    writesThisTick += 1;
    if (writesThisTick === 1) process.nextTick(endOfTick);
    else if (!corked) {
      corked = true;
      socket.cork();
    }
    return write(...args);
  }) as Socket['write'];
  return true;
}
