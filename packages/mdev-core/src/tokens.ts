/** DI token of the host's MdevCore. */
export const MDEV_CORE = Symbol.for('mdev-core.MdevCore');
