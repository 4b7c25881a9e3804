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
  future.onIOPub = (message: KernelMessage.IIOPubMessage) => {
    const content = message.content as any;
    switch (message.header.msg_type) {
      case 'stream':
        printed.push(content.text);
        break;
      case 'error':
        printed.push(`${content.ename}: ${content.evalue}`);
        break;
      case 'execute_result':
      case 'display_data':
        if (content.data?.['text/plain']) {
          printed.push(String(content.data['text/plain']));
        }
        break;
    }
  };
  const reply = await future.done;
  return { ok: reply.content.status === 'ok', text: printed.join('').trim() };
}
