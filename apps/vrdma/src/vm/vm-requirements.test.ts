import { afterEach, describe, expect, it } from 'vitest';
import { findVmHostTools, VM_PACKAGES } from './vm-requirements.js';

const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
});

describe('what booting VM guests needs', () => {
  it('when QEMU is missing, is one line naming the packages to install', () => {
    process.env.PATH = '/nonexistent';
    expect(() => findVmHostTools()).toThrow(
      /^VM guests need qemu-system-x86_64.*: apt-get install -y/,
    );
    try {
      findVmHostTools();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain(VM_PACKAGES);
    }
  });
});
