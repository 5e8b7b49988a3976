/** The `resilient` consensus profile's pure rules (docs/consensus-resilient.md). */
export * from './fork-choice';
export * from './head';
export * from './params';
export * from './ranking';
export * from './seed';
export * from './slots';
