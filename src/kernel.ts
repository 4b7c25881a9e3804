// Actions on the notebook's own attachment go through its kernel (the %spark magic), so the kernel's
// client follows them: a detach or an attach made over REST alone would leave the kernel on its old
// session until its next cell failed.

import { Kernel, KernelMessage } from '@jupyterlab/services';

export interface IKernelReply {
  ok: boolean;
  text: string;
}

/** Run ``code`` in ``kernel`` without a cell; what it printed, or its error, comes back as text. */
export async function runInKernel(
  kernel: Kernel.IKernelConnection,
  code: string
): Promise<IKernelReply> {
  const future = kernel.requestExecute({
    code,
    silent: false,
    store_history: false,
    allow_stdin: false
  });
  const printed: string[] = [];
  // A display updated in place ("Starting Spark (3 s)", then "Spark ready") keeps its place and
  // shows its last text, as a notebook shows it: never a stale first one.
  const displays = new Map<string, number>();
  future.onIOPub = (message: KernelMessage.IIOPubMessage) => {
    const content = message.content as any;
    const displayId: string | undefined = content.transient?.display_id;
    switch (message.header.msg_type) {
      case 'stream':
        printed.push(content.text);
        break;
      case 'error':
        printed.push(`${content.ename}: ${content.evalue}`);
        break;
      case 'execute_result':
      case 'display_data':
        if (displayId !== undefined) {
          displays.set(displayId, printed.length);
        }
        printed.push(plainText(content));
        break;
      case 'update_display_data': {
        const at =
          displayId === undefined ? undefined : displays.get(displayId);
        if (at !== undefined) {
          printed[at] = plainText(content);
        }
        break;
      }
    }
  };
  const reply = await future.done;
  return { ok: reply.content.status === 'ok', text: printed.join('').trim() };
}

/** A display's plain text, on a line of its own. */
function plainText(content: any): string {
  const text = content.data?.['text/plain'];
  return text ? `${String(text)}\n` : '';
}
