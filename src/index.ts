// JupyterLab's Spark panel and status item for jupyter-spark-broker.

import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';

import { BrokerAPI } from './api';
import { sparkIcon } from './icon';
import { SparkModel } from './model';
import { PANEL_ID, SparkPanel } from './panel';
import { STATUS_ID, SparkStatus } from './status';

const OPEN_PANEL = 'spark-broker:open-panel';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-spark-broker:plugin',
  description: 'A Spark panel and status item showing the broker\'s sessions, live.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell, ILayoutRestorer, ICommandPalette, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
    const kernelOf = () => notebooks.currentWidget?.sessionContext.session?.kernel ?? null;
    const model = new SparkModel(new BrokerAPI(), kernelOf);
    app.serviceManager.events.stream.connect((_, event) => model.handleEvent(event));

    const panel = new SparkPanel(model);
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(OPEN_PANEL, {
      label: 'Show the Spark panel',
      caption: 'The Spark sessions of the broker',
      icon: sparkIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    palette?.addItem({ command: OPEN_PANEL, category: 'Spark' });

    if (statusBar) {
      statusBar.registerStatusItem(STATUS_ID, {
        item: new SparkStatus(model),
        align: 'left',
        rank: 4,
        isActive: () => Boolean(notebooks.currentWidget)
      });
    }

    const follow = () => model.setCurrentPath(notebooks.currentWidget?.context.path ?? null);
    notebooks.currentChanged.connect(follow);
    // A notebook renamed or saved under another name keeps its session: the path follows it.
    notebooks.widgetAdded.connect((_, widget) =>
      widget.context.pathChanged.connect(() => widget === notebooks.currentWidget && follow())
    );
    void labShell; // the tracker follows the shell's focus for us
    follow();
    void model.start();
  }
};

export default plugin;
