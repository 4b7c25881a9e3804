// JupyterLab's Spark panel and status item for jupyter-spark-broker.

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { BrokerAPI } from './api';
import { sparkIcon } from './icon';
import { SparkModel } from './model';
import { PANEL_ID, SparkPanel } from './panel';
import { followSettings } from './settings';
import { STATUS_ID, SparkStatus } from './status';

/** The gettext domain of every string the extension shows. */
export const TRANSLATION_DOMAIN = 'jupyter_spark_broker';
const PLUGIN_ID = 'jupyter-spark-broker:plugin';
const OPEN_PANEL = 'spark-broker:open-panel'; // named in the docs: keep

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    "A Spark panel and status item showing the broker's sessions, live.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    IStatusBar,
    ISettingRegistry,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const kernelOf = () =>
      notebooks.currentWidget?.sessionContext.session?.kernel ?? null;
    const model = new SparkModel(new BrokerAPI(trans), trans, kernelOf);
    model.subscribe(app.serviceManager.events.stream);

    const panel = new SparkPanel(model, trans);
    // The model (its event subscription and timers) lives as long as the panel.
    panel.disposed.connect(() => model.dispose());
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(OPEN_PANEL, {
      label: trans.__('Show the Spark panel'),
      caption: trans.__('The Spark sessions of the broker'),
      icon: sparkIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => app.shell.activateById(PANEL_ID)
    });
    palette?.addItem({ command: OPEN_PANEL, category: trans.__('Spark') });

    if (statusBar) {
      const status = new SparkStatus(model, trans);
      const item = statusBar.registerStatusItem(STATUS_ID, {
        item: status,
        align: 'left',
        rank: 4,
        isActive: () => Boolean(notebooks.currentWidget)
      });
      panel.disposed.connect(() => {
        item.dispose();
        status.dispose();
      });
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const following = followSettings(settings, model);
          panel.disposed.connect(() => following.dispose());
        })
        .catch(reason => {
          // The panel works on its defaults without them.
          console.warn(`${PLUGIN_ID}: settings not loaded`, reason);
        });
    }

    const follow = () =>
      model.setCurrentPath(notebooks.currentWidget?.context.path ?? null);
    notebooks.currentChanged.connect(follow);
    // A notebook renamed or saved under another name keeps its session: the path follows it.
    const followRenames = (_: INotebookTracker, widget: NotebookPanel) =>
      widget.context.pathChanged.connect(() => {
        if (widget === notebooks.currentWidget) {
          follow();
        }
      });
    notebooks.widgetAdded.connect(followRenames);
    panel.disposed.connect(() => {
      notebooks.currentChanged.disconnect(follow);
      notebooks.widgetAdded.disconnect(followRenames);
    });
    follow();
    void model.start();
  }
};

export default plugin;
