// What an action through the kernel says: the last text of a display updated in place, never its
// first ("Starting Spark (0 s)" while Spark is ready).

import { Kernel, KernelMessage } from '@jupyterlab/services';

import { runInKernel } from '../kernel';

/** A kernel that answers every request with these IOPub messages, then an ok reply. */
function kernelSaying(
  messages: { msg_type: string; content: any }[]
): Kernel.IKernelConnection {
  return {
    requestExecute: () => {
      const future: any = {};
      future.done = Promise.resolve().then(() => {
        for (const { msg_type, content } of messages) {
          future.onIOPub({
            header: { msg_type },
            content
          } as unknown as KernelMessage.IIOPubMessage);
        }
        return { content: { status: 'ok' } };
      });
      return future;
    }
  } as unknown as Kernel.IKernelConnection;
}

describe('runInKernel', () => {
  it('shows a display updated in place by its last text, in its place', async () => {
    const kernel = kernelSaying([
      {
        msg_type: 'stream',
        content: { text: 'Starting a new Spark session\n' }
      },
      {
        msg_type: 'display_data',
        content: {
          data: { 'text/plain': 'Starting Spark (0 s) …' },
          transient: { display_id: 'd1' }
        }
      },
      {
        msg_type: 'update_display_data',
        content: {
          data: { 'text/plain': 'Starting Spark (3 s) …' },
          transient: { display_id: 'd1' }
        }
      },
      {
        msg_type: 'update_display_data',
        content: {
          data: { 'text/plain': 'Spark ready: application local-1' },
          transient: { display_id: 'd1' }
        }
      },
      { msg_type: 'stream', content: { text: 'done\n' } }
    ]);
    const reply = await runInKernel(kernel, '%spark attach --create team');
    expect(reply).toEqual({
      ok: true,
      text: 'Starting a new Spark session\nSpark ready: application local-1\ndone'
    });
  });
});
