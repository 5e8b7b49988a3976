/** The consensus core: pure, deterministic, and free of DOM, network, storage and clocks. */
export * from './block';
export * from './canonical-json';
export * from './config';
export * from './decode';
export * from './errors';
export * from './fork-choice';
export * from './hash';
export * from './json';
export * from './limits';
export * from './lottery';
export * as resilient from './resilient';
export * from './result';
export * from './signing-bytes';
export * from './state';
export * from './transaction';
export * from './types';
export * from './validate';
