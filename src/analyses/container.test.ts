/**
 * The container parser on real path shapes (test/fixtures/cgroups/paths.json: one per runtime and Kubernetes QoS
 * class, each with its published source), and on odd and hostile paths: it never throws and never hands back a
 * field holding what the path smuggled in (newlines, quotes, backslashes beyond systemd's escapes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type ContainerInfo, containerLabel, parseContainer } from './container.ts';

interface Case {
  name: string;
  path: string;
  source: string;
  expect: ContainerInfo;
}
const fixtures = JSON.parse(
  readFileSync(new URL('../../test/fixtures/cgroups/paths.json', import.meta.url), 'utf8'),
) as { cases: Case[]; none: string[] };

describe('parseContainer on published path shapes', () => {
  for (const c of fixtures.cases) {
    test(c.name, () => {
      assert.ok(c.source.length > 10, 'every fixture names its source');
      assert.deepEqual(parseContainer(c.path), c.expect);
    });
  }
  test('every runtime and QoS class has a fixture', () => {
    const runtimes = new Set(fixtures.cases.map((c) => c.expect.runtime));
    for (const r of ['systemd', 'docker', 'containerd', 'crio', 'podman', 'kubernetes'])
      assert.ok(runtimes.has(r as never), r);
    const qos = new Set(fixtures.cases.map((c) => c.expect.qos));
    for (const q of ['guaranteed', 'burstable', 'besteffort']) assert.ok(qos.has(q as never), q);
  });
  for (const p of fixtures.none) {
    test(`no service or container: ${p}`, () => assert.equal(parseContainer(p), null));
  }
});

describe('labels', () => {
  test('container label: runtime and 12 hex digits; pod-level: the pod; a plain unit: none', () => {
    assert.equal(containerLabel(parseContainer(fixtures.cases[2].path)), 'docker:34048520ee4d');
    assert.equal(
      containerLabel(parseContainer('/kubepods/burstable/pod6a6f0656-d640-11e8-a966-00505691e4af')),
      'pod:6a6f0656-d640-11e8-a966-00505691e4af',
    );
    assert.equal(containerLabel(parseContainer('/system.slice/mariadb.service')), null);
    assert.equal(containerLabel(null), null);
  });
});

describe('odd and hostile paths', () => {
  const hostile = [
    '',
    'relative/path',
    '/system.slice/evil\n.service',
    '/system.slice/a"b.service',
    '/system.slice/x\\"}\n# HELP.service',
    `/system.slice/${'a'.repeat(300)}.service`,
    `/${'deep/'.repeat(2000)}x.service`,
    '/docker/not-hex-at-all',
    '/docker/0123',
    '/kubepods/burstable/podnot-a-uid/0123456789abcdef0123456789abcdef',
    "/system.slice/docker-'; DROP TABLE outliers;--.scope",
    '/\u0000/\u007f.service',
    '//system.slice//mariadb.service//',
  ];
  for (const p of hostile) {
    test(JSON.stringify(p.slice(0, 60)), () => {
      const c = parseContainer(p);
      if (c === null) return;
      for (const v of [c.id, c.unit, c.pod_uid, c.qos, c.runtime]) {
        if (v === null) continue;
        assert.match(v, /^[A-Za-z0-9:_.\\@-]+$/, `field ${JSON.stringify(v)} of ${JSON.stringify(p)}`);
      }
    });
  }
  test('non-strings are null', () => {
    assert.equal(parseContainer(null), null);
    assert.equal(parseContainer(undefined), null);
    assert.equal(parseContainer(42 as unknown as string), null);
  });
  test('empty components are skipped', () => {
    assert.equal(parseContainer('//system.slice//mariadb.service//')?.unit, 'mariadb.service');
  });
});
