/** DI tokens for the services core-bus itself provides. */
export const DRIVER_CORE = Symbol.for('core-bus.DriverCore');
/** DI token of the `ModuleLoader`. */
export const MODULE_LOADER = Symbol.for('core-bus.ModuleLoader');
