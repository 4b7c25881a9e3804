// The settings (schema/plugin.json) reach the model, follow the settings editor, and keep the
// panel's own all-users choice.

import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Signal } from '@lumino/signaling';

import { DEFAULT_SETTINGS } from '../model';
import { followSettings, readSettings } from '../settings';
import { FakeBroker } from './fakeBroker';

/** A plugin's settings as the registry hands them over: what they are, and news of changes. */
class FakeSettings {
  composite: Record<string, unknown>;
  changed = new Signal<this, void>(this);
  set = jest.fn(async (key: string, value: unknown) => {
    this.composite = { ...this.composite, [key]: value };
    this.changed.emit();
  });

  constructor(values: Record<string, unknown>) {
    this.composite = values;
  }

  edit(values: Record<string, unknown>): void {
    this.composite = { ...this.composite, ...values };
    this.changed.emit();
  }
}

describe('readSettings', () => {
  it('takes the values it is given', () => {
    expect(
      readSettings({
        refreshInterval: 0,
        allUsers: true,
        pageSize: 20,
        logLines: 200
      })
    ).toEqual({
      refreshInterval: 0,
      allUsers: true,
      pageSize: 20,
      logLines: 200
    });
  });

  it('falls back to the defaults for missing or invalid values', () => {
    expect(readSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(
      readSettings({
        refreshInterval: -5,
        allUsers: 'yes',
        pageSize: 0,
        logLines: NaN
      })
    ).toEqual(DEFAULT_SETTINGS);
  });

  it('holds a refresh interval within what a browser timer can count, 0 staying 0', () => {
    const interval = (refreshInterval: number) =>
      readSettings({ refreshInterval }).refreshInterval;
    expect(interval(0)).toBe(0);
    expect(interval(1e9)).toBe(86400); // setInterval would overflow and fire without pause
    expect(interval(0.001)).toBe(1);
    expect(interval(45)).toBe(45);
  });
});

describe('followSettings', () => {
  it('configures the model now and on every change, until disposed', () => {
    const model = new FakeBroker().model();
    const settings = new FakeSettings({ refreshInterval: 5, pageSize: 25 });
    const following = followSettings(
      settings as unknown as ISettingRegistry.ISettings,
      model
    );
    expect(model.settings.refreshInterval).toBe(5);
    expect(model.settings.pageSize).toBe(25);

    settings.edit({ refreshInterval: 0 });
    expect(model.settings.refreshInterval).toBe(0);

    following.dispose();
    settings.edit({ refreshInterval: 60 });
    expect(model.settings.refreshInterval).toBe(0);
    model.dispose();
  });

  it("keeps the panel's all-users choice in the settings", () => {
    const model = new FakeBroker().model();
    const settings = new FakeSettings({ allUsers: false });
    followSettings(settings as unknown as ISettingRegistry.ISettings, model);

    model.setAllUsers(true);

    expect(settings.set).toHaveBeenCalledTimes(1);
    expect(settings.set).toHaveBeenCalledWith('allUsers', true);
    expect(model.settings.allUsers).toBe(true);
    model.dispose();
  });
});
