import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chooseIceServers,
  devnetKeyLoader,
  iceServersFromSettings,
  loadDevnet,
  MissingDevnetError,
} from '../../src/ui/bootstrap';
import { identiconCells } from '../../src/ui/components/Identicon';
import {
  decodeAmount,
  decodeChainFile,
  decodeDevnet,
  decodeIceServerList,
  decodeIceServers,
  decodePrivateKeyText,
  decodeReceiver,
  decodeSearch,
} from '../../src/ui/decoders';
import { fingerprint } from '../../src/ui/format';
import { hrefFor, parseRoute, type Route } from '../../src/ui/router';

const ROOT = join(import.meta.dirname, '..', '..');
const pem = (name: string) => readFileSync(join(ROOT, 'public', 'keys', name), 'utf8');
const devnetJson = () =>
  JSON.parse(readFileSync(join(ROOT, 'public', 'devnet.json'), 'utf8')) as Record<string, unknown>;

describe('decodeAmount', () => {
  it.each([
    ['1', 1],
    [' 25 ', 25],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('reads %j', (text, amount) => {
    expect(decodeAmount(text)).toEqual({ ok: true, value: amount });
  });

  it.each([
    ['', /Enter an amount/],
    ['0', /at least 1/],
    ['000', /at least 1/],
    ['-1', /positive/],
    ['−3', /positive/],
    ['0.5', /whole number of coins/],
    ['3,5', /whole number of coins/],
    ['1e2', /written in exponent notation: write it in digits, 100\./],
    ['2e3', /written in exponent notation: write it in digits, 2000\./],
    ['1E5', /written in exponent notation: write it in digits, 100000\./],
    ['+4e1', /written in exponent notation: write it in digits, 40\./],
    ['1e30', /exponent notation and is too large: at most 9007199254740991/],
    ['1e400', /exponent notation and is too large/],
    ['1e16', /exponent notation and is too large/],
    ['1.5e0', /exponent notation and is not a whole number/],
    ['2e-1', /exponent notation and is not a whole number/],
    ['1.5', /whole number of coins \(no decimals\)/],
    ['0x10', /digits/],
    ['9007199254740992', /too large/],
  ])('refuses %j', (text, message) => {
    const result = decodeAmount(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('decodePrivateKeyText', () => {
  it('accepts PKCS#1 and normalises line endings', () => {
    const result = decodePrivateKeyText(`\r\n${pem('stakerPrivateKey.pem').replace(/\n/g, '\r\n')}\r\n`);
    expect(result).toEqual({ ok: true, value: pem('stakerPrivateKey.pem') });
  });

  it.each([
    ['', /Paste a private key/],
    [pem('stakerPublicKey.pem'), /This is a public key/],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----', /passphrase/],
    ['ssh-rsa AAAAB3Nza', /Not a PEM private key/],
    ['x'.repeat(20_000), /too long/],
  ])('refuses %#', (text, message) => {
    const result = decodePrivateKeyText(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('decodeReceiver', () => {
  const staker = pem('stakerPublicKey.pem');

  it('normalises a PEM to the canonical form', () => {
    expect(decodeReceiver(`  ${staker.replace(/\n/g, '\r\n')}\n\n`, [])).toEqual({ ok: true, value: staker });
  });

  it('resolves a known fingerprint, and refuses an ambiguous or unknown one', () => {
    const genesis = pem('genesisPublicKey.pem');
    expect(decodeReceiver(fingerprint(staker), [staker, genesis])).toEqual({ ok: true, value: staker });
    expect(decodeReceiver('abcdef', [])).toMatchObject({ ok: false });
    const result = decodeReceiver(fingerprint(staker), []);
    expect(!result.ok && result.error).toMatch(/Paste the receiver's full public key/);
  });
});

describe('decodeSearch', () => {
  it.each([
    ['12', { kind: 'height', height: 12 }],
    ['#7', { kind: 'height', height: 7 }],
    ['A'.repeat(64), { kind: 'hash', hash: 'a'.repeat(64) }],
    ['f'.repeat(32), { kind: 'tx', id: 'f'.repeat(32) }],
    ['abc123def', { kind: 'fingerprint', prefix: 'abc123def' }],
  ])('reads %j', (text, query) => {
    expect(decodeSearch(text)).toEqual({ ok: true, value: query });
  });

  it('reads a pasted public key whose line breaks were lost', () => {
    const staker = pem('stakerPublicKey.pem');
    expect(decodeSearch(staker.replace(/\n/g, ''))).toEqual({
      ok: true,
      value: { kind: 'account', publicKeyPem: staker },
    });
  });
});

describe('decodeChainFile', () => {
  it('reads {"blocks": [...]} and refuses anything else', () => {
    expect(decodeChainFile('{"blocks": [1]}')).toEqual({ ok: true, value: [1] });
    expect(decodeChainFile('{"blocks": []}')).toMatchObject({ ok: false });
    expect(decodeChainFile('[]')).toMatchObject({ ok: false });
    expect(decodeChainFile('nope')).toMatchObject({ ok: false });
  });
});

describe('decodeDevnet', () => {
  it('reads public/devnet.json', () => {
    const result = decodeDevnet(devnetJson());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.network).toBe('tabchain-devnet');
    expect(result.value.genesisPublicKey).toBe(pem('genesisPublicKey.pem'));
    expect(result.value.keys.exchange).toBe('keys/exchangePrivateKey.pem');
  });

  it.each([
    [null, /not a JSON object/],
    [{ network: '' }, /no "network"/],
    [{ network: 'x' }, /no "genesisPublicKey"/],
    [
      { network: 'x', genesisPublicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' },
      /not a valid public key/,
    ],
  ])('refuses %j', (value, message) => {
    const result = decodeDevnet(value);
    expect(!result.ok && result.error).toMatch(message);
  });

  it('reads an optional profile: reference or resilient, and refuses any other', () => {
    const plain = decodeDevnet(devnetJson());
    if (!plain.ok) throw new Error(plain.error);
    expect('profile' in plain.value).toBe(false);
    for (const profile of ['reference', 'resilient'] as const) {
      expect(decodeDevnet({ ...devnetJson(), profile })).toMatchObject({ ok: true, value: { profile } });
    }
    for (const profile of ['Resilient', '', 1, null, ['resilient']]) {
      const result = decodeDevnet({ ...devnetJson(), profile });
      expect(!result.ok && result.error).toMatch(/"profile" must be "reference" or "resilient"/);
    }
  });

  it('refuses key paths that leave the site', () => {
    for (const path of ['https://evil.example/k.pem', '//evil.example/k.pem', '../secret.pem', '/abs.pem']) {
      const result = decodeDevnet({ ...devnetJson(), keys: { genesis: path } });
      expect(!result.ok && result.error).toMatch(/relative path/);
    }
  });
});

describe('settings', () => {
  it('reads ICE servers and refuses anything but STUN/TURN', () => {
    expect(decodeIceServers(null)).toEqual({ ok: true, value: [] });
    expect(decodeIceServers('[{"urls": "stun:127.0.0.1:3478"}]')).toEqual({
      ok: true,
      value: [{ urls: ['stun:127.0.0.1:3478'] }],
    });
    expect(decodeIceServers('[{"urls": "http://x"}]')).toMatchObject({ ok: false });
    expect(decodeIceServers('{')).toMatchObject({ ok: false });
    expect(
      iceServersFromSettings({ getItem: () => '[{"urls":["turn:h"],"username":"u","credential":"c"}]' }),
    ).toEqual({
      ok: true,
      value: [{ urls: ['turn:h'], username: 'u', credential: 'c' }],
    });
  });
});

describe('ICE servers: one decoder for the setting, devnet.json and the form', () => {
  const turn = { urls: 'turn:10.88.0.1:3478?transport=udp', username: 'class', credential: 'secret' };

  it('takes STUN and TURN (TURN with a username and a credential), URLs as a string or a list', () => {
    expect(
      decodeIceServerList(
        [
          { urls: 'stun:[fe80::1]:3478' },
          turn,
          { urls: ['turns:teacher.local:5349'], username: 'u', credential: 'c' },
        ],
        'S',
      ),
    ).toEqual({
      ok: true,
      value: [
        { urls: ['stun:[fe80::1]:3478'] },
        { ...turn, urls: [turn.urls] },
        { urls: ['turns:teacher.local:5349'], username: 'u', credential: 'c' },
      ],
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['not a list', { urls: 'stun:h' }, /S: it must be a JSON array/],
    ['a web URL', [{ urls: 'https://h' }], /server 1 \(urls\).*not a STUN or TURN URL/],
    ['a URL with a path', [{ urls: 'stun:h/x' }], /not a STUN or TURN URL/],
    ['whitespace inside', [{ urls: 'stun:h :1' }], /not a STUN or TURN URL/],
    ['a port too high', [{ urls: 'stun:h:65536' }], /above 65535/],
    ['no urls', [{ url: 'stun:h' }], /server 1 \(urls\): a server needs "urls"/],
    ['an empty list', [{ urls: [] }], /a server needs a URL/],
    ['TURN without credential', [{ urls: 'turn:h', username: 'u' }], /needs a username and a credential/],
    ['an unknown field', [{ urls: 'stun:h', password: 'x' }], /server 1/],
    ['a long username', [{ ...turn, username: 'u'.repeat(257) }], /username is longer than 256/],
    ['too many servers', Array.from({ length: 17 }, () => ({ urls: 'stun:h' })), /at most 16 ICE servers/],
  ])('refuses %s with a sentence that says where', (_, value, message) => {
    const decoded = decodeIceServerList(value, 'S');
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error).toMatch(message);
  });

  it('devnet.json may carry iceServers, decoded the same way; a damaged list is refused', () => {
    const withServers = decodeDevnet({ ...devnetJson(), iceServers: [turn] });
    expect(withServers.ok && withServers.value.iceServers).toEqual([{ ...turn, urls: [turn.urls] }]);
    const without = decodeDevnet(devnetJson());
    expect(without.ok && 'iceServers' in without.value).toBe(false);
    const damaged = decodeDevnet({ ...devnetJson(), iceServers: [{ urls: 'turn:h' }] });
    expect(!damaged.ok && damaged.error).toMatch(
      /devnet.json: "iceServers" server 1: .*username and a credential/,
    );
  });

  it('the setting wins when set (even empty), a damaged one is ignored with a notice, then the devnet’s apply', () => {
    const devnet = { iceServers: [{ urls: ['stun:10.88.0.1:3478'] }] };
    const storage = (value: string | null) => ({ getItem: () => value });
    expect(chooseIceServers(devnet, storage(null))).toEqual({
      servers: devnet.iceServers,
      source: 'devnet',
      notice: null,
    });
    expect(chooseIceServers(devnet, storage('  '))).toMatchObject({ source: 'devnet' });
    expect(chooseIceServers(devnet, storage('[{"urls":"stun:127.0.0.1"}]'))).toEqual({
      servers: [{ urls: ['stun:127.0.0.1'] }],
      source: 'setting',
      notice: null,
    });
    expect(chooseIceServers(devnet, storage('[]'))).toEqual({ servers: [], source: 'setting', notice: null });
    const damaged = chooseIceServers(devnet, storage('[{"urls":"http://x"}]'));
    expect(damaged).toMatchObject({ servers: devnet.iceServers, source: 'devnet' });
    expect(damaged.notice).toMatch(/tabchain.iceServers setting server 1/);
    expect(chooseIceServers({}, storage('{'))).toMatchObject({
      servers: [],
      source: 'none',
      notice: expect.stringMatching(/not JSON/),
    });
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
    };
    expect(chooseIceServers({}, throwing)).toEqual({ servers: [], source: 'none', notice: null });
  });
});

describe('routes', () => {
  it.each<[string, Route]>([
    ['', { page: 'wallet' }],
    ['#/', { page: 'wallet' }],
    ['#/explorer', { page: 'explorer' }],
    ['#/network/', { page: 'network' }],
    ['#/block/12', { page: 'block', height: 12 }],
    [`#/tx/${'A'.repeat(32)}`, { page: 'tx', id: 'a'.repeat(32) }],
    ['#/account/abcdef012345', { page: 'account', fingerprint: 'abcdef012345' }],
    ['#/block/x', { page: 'not-found', path: '/block/x' }],
  ])('parses %j', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('round-trips through hrefFor', () => {
    for (const route of [
      { page: 'block', height: 3 },
      { page: 'tx', id: 'b'.repeat(32) },
      { page: 'account', fingerprint: '0123456789ab' },
    ] as const) {
      expect(parseRoute(hrefFor(route))).toEqual(route);
    }
  });
});

describe('fingerprints and identicons', () => {
  it('fingerprints a PEM as the first 12 hex digits of its SHA-256', () => {
    expect(fingerprint(pem('genesisPublicKey.pem'))).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprint('abc')).toBe('ba7816bf8f01');
  });

  it('draws a deterministic, mirrored identicon', () => {
    const a = identiconCells(pem('genesisPublicKey.pem'));
    expect(identiconCells(pem('genesisPublicKey.pem'))).toEqual(a);
    expect(identiconCells(pem('stakerPublicKey.pem'))).not.toEqual(a);
    const cells = new Set(a.cells.map(([x, y]) => `${x},${y}`));
    for (const [x, y] of a.cells) expect(cells.has(`${4 - x},${y}`)).toBe(true);
  });
});

describe('bootstrap helpers', () => {
  const response = (body: string, contentType: string, status = 200) =>
    new Response(body, { status, headers: { 'content-type': contentType } });

  it('loads devnet.json, and tells a missing file from a broken one', async () => {
    const config = await loadDevnet(
      async () => response(JSON.stringify(devnetJson()), 'application/json'),
      '/devnet.json',
    );
    expect(config.network).toBe('tabchain-devnet');
    await expect(
      loadDevnet(async () => response('<!doctype html>', 'text/html'), '/devnet.json'),
    ).rejects.toBeInstanceOf(MissingDevnetError);
    await expect(
      loadDevnet(async () => response('nope', 'application/json', 404), '/devnet.json'),
    ).rejects.toBeInstanceOf(MissingDevnetError);
    await expect(loadDevnet(async () => response('{', 'application/json'), '/devnet.json')).rejects.toThrow(
      /not valid JSON/,
    );
    await expect(
      loadDevnet(async () => response('{"network": 1}', 'application/json'), '/devnet.json'),
    ).rejects.toThrow(/no "network"/);
  });

  it('fetches devnet keys relative to the site, and spots the SPA fallback', async () => {
    const config = decodeDevnet(devnetJson());
    if (!config.ok) throw new Error(config.error);
    const urls: string[] = [];
    const load = devnetKeyLoader(
      config.value,
      async (url) => {
        urls.push(String(url));
        return response(
          String(url).includes('genesis') ? pem('genesisPrivateKey.pem') : '<!doctype html>',
          'text/plain',
        );
      },
      '/app/',
    );
    expect(await load('genesis')).toBe(pem('genesisPrivateKey.pem'));
    await expect(load('staker')).rejects.toThrow(/no key at \/app\/keys\/stakerPrivateKey.pem/);
    expect(urls).toEqual(['/app/keys/genesisPrivateKey.pem', '/app/keys/stakerPrivateKey.pem']);
  });
});
