// The demo's model: scenarios driving kernel-sim, shared by the terminal and the web app.
export * from './catalog';
export * from './session';
export * from './trace';
export * from './swap';
export * from './views';
export * from './access';
export * from './timeline';
export * from './observe';
export * from './page-table-diff';
