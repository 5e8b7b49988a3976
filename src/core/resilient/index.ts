/** The `resilient` consensus profile's pure rules (docs/consensus-resilient.md); not wired in yet. */
export * from './fork-choice';
export * from './params';
export * from './ranking';
export * from './seed';
export * from './slots';
