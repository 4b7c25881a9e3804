// The user's settings (schema/plugin.json) into the model, live; and the panel's own all-users
// switch back into them, so the choice stays across reloads.

import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IDisposable } from '@lumino/disposable';

import { DEFAULT_SETTINGS, IPanelSettings, SparkModel } from './model';

// A browser timer holds at most 2^31 - 1 ms (about 24.8 days): a longer interval fires at once,
// again and again. So the refresh interval, when not 0 (events only), stays within these seconds;
// below one second would ask the server faster than it answers.
export const REFRESH_SECONDS = { min: 1, max: 86400 };

/** The settings as the model takes them; a missing or invalid value gives the default. */
export function readSettings(
  composite: Partial<Record<keyof IPanelSettings, unknown>>
): IPanelSettings {
  const number = (value: unknown, fallback: number, min: number) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min
      ? value
      : fallback;
  return {
    refreshInterval: refreshSeconds(
      number(composite.refreshInterval, DEFAULT_SETTINGS.refreshInterval, 0)
    ),
    allUsers:
      typeof composite.allUsers === 'boolean'
        ? composite.allUsers
        : DEFAULT_SETTINGS.allUsers,
    pageSize: Math.floor(
      number(composite.pageSize, DEFAULT_SETTINGS.pageSize, 1)
    ),
    logLines: Math.floor(
      number(composite.logLines, DEFAULT_SETTINGS.logLines, 1)
    )
  };
}

/** 0 stays 0 (events only); any other interval is held within REFRESH_SECONDS. */
function refreshSeconds(seconds: number): number {
  if (seconds === 0) {
    return 0;
  }
  return Math.min(REFRESH_SECONDS.max, Math.max(REFRESH_SECONDS.min, seconds));
}

/** Keep ``model`` configured by ``settings`` until the returned disposable is disposed. */
export function followSettings(
  settings: ISettingRegistry.ISettings,
  model: SparkModel
): IDisposable {
  const apply = () =>
    model.configure(
      readSettings(settings.composite as Record<string, unknown>)
    );
  const persist = (_: SparkModel, chosen: Readonly<IPanelSettings>) => {
    if (settings.composite.allUsers !== chosen.allUsers) {
      void settings.set('allUsers', chosen.allUsers);
    }
  };
  apply();
  settings.changed.connect(apply);
  model.settingsChanged.connect(persist);
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
      settings.changed.disconnect(apply);
      model.settingsChanged.disconnect(persist);
    }
  };
}
