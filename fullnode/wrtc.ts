import type SimplePeer from 'simple-peer';
import { err, ok, type Result } from '../src/core/result';

/*
 * Loading WebRTC for Node. `@roamhq/wrtc` is a native addon: its platform's binary comes as an
 * optional dependency, which npm skips on a platform it has no build for (and an install with
 * `--omit=optional` skips everywhere). Its loader then throws; we turn that into one clear
 * sentence and the node exits, rather than running without a network or hanging.
 */

/** The WebRTC implementation simple-peer takes in Node (`RTCPeerConnection` and friends). */
export type Wrtc = NonNullable<SimplePeer.Options['wrtc']>;

/** The module the node loads WebRTC from. */
export const DEFAULT_WRTC_MODULE = '@roamhq/wrtc';

/**
 * Names another WebRTC module to load instead (a build of node-webrtc for a platform that
 * `@roamhq/wrtc` ships no binary for).
 */
export const WRTC_MODULE_ENV = 'TABCHAIN_WRTC_MODULE';

/** Imports a module by name (injectable, so a test can make the load fail as a missing binary does). */
export type ModuleImporter = (name: string) => Promise<unknown>;

const importModule: ModuleImporter = (name) => import(name);

/** What a loaded module must offer for simple-peer to open data channels. */
function asWrtc(loaded: unknown): Wrtc | null {
  const candidates = [loaded, (loaded as { default?: unknown } | null)?.default];
  for (const candidate of candidates) {
    const value = candidate as Partial<Wrtc> | null | undefined;
    if (
      value &&
      typeof value.RTCPeerConnection === 'function' &&
      typeof value.RTCSessionDescription === 'function' &&
      typeof value.RTCIceCandidate === 'function'
    )
      return value as Wrtc;
  }
  return null;
}

/**
 * Loads WebRTC for Node from `moduleName`; on failure, a message that says what is missing and
 * what to do about it. Never throws.
 */
export async function loadWrtc(
  moduleName: string = DEFAULT_WRTC_MODULE,
  importer: ModuleImporter = importModule,
): Promise<Result<Wrtc, string>> {
  let loaded: unknown;
  try {
    loaded = await importer(moduleName);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return err(
      `tabchain node: WebRTC for Node could not be loaded from ${moduleName} (${reason}). ` +
        `Its native binary is missing or does not run on this platform (${process.platform}-${process.arch}). ` +
        'Reinstall with optional dependencies (npm install --include=optional), or name another build of ' +
        `node-webrtc in ${WRTC_MODULE_ENV}.`,
    );
  }
  const wrtc = asWrtc(loaded);
  if (!wrtc)
    return err(
      `tabchain node: ${moduleName} loaded but offers no RTCPeerConnection, RTCSessionDescription and RTCIceCandidate: it is not a WebRTC implementation.`,
    );
  return ok(wrtc);
}
