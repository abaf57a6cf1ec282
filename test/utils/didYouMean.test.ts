import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { closestName, didYouMean } from '../../src/utils/didYouMean.js';
import { issueLines, knownKeysAt } from '../../src/utils/configIssues.js';

test('closestName: spelling variants and typos get the known name; distant names get nothing', () => {
  const head = ['stackedConvs', 'featChannels', 'priorProb', 'norm', 'loss_cls', 'loss_bbox'];
  assert.equal(closestName('stacked_convs', head), 'stackedConvs');
  assert.equal(closestName('StackedConvs', head), 'stackedConvs');
  assert.equal(closestName('feat_chanels', head), 'featChannels');
  assert.equal(closestName('loss_cl', head), 'loss_cls');
  assert.equal(closestName('bin', ['bins', 'momentum']), 'bins');
  assert.equal(closestName('foo', head), undefined);
  assert.equal(closestName('depth', ['widths', 'blocks', 'stemChannels']), undefined);
  assert.equal(closestName('q', ['x']), undefined);
  assert.equal(didYouMean('num_classes', ['numClasses', 'classNames']), 'did you mean `numClasses`?');
  assert.equal(didYouMean('foo', ['numClasses']), '');
});

test('issueLines: full paths, one line per unknown key, suggestions from the schema at that path', () => {
  const schema = z.strictObject({
    head: z.strictObject({ stackedConvs: z.number(), featChannels: z.number() }).optional(),
    steps: z.array(z.strictObject({ at: z.number() })),
    clip: z.strictObject({ max_norm: z.number() }).nullable().default(null),
  });
  assert.deepEqual(knownKeysAt(schema, ['head']), ['stackedConvs', 'featChannels']);
  assert.deepEqual(knownKeysAt(schema, ['steps', 0]), ['at']);
  const r = schema.safeParse({
    head: { stacked_convs: 4, stackedConvs: 2, featChannels: 8, foo: 1 },
    steps: [{ at: 1, a: 2 }],
    clip: { max_norm: 1, maxnorm: 2 },
  });
  assert.equal(r.success, false);
  assert.deepEqual(issueLines(schema, r.error!.issues, ['model']), [
    'model.head.stacked_convs: unknown key; did you mean `stackedConvs`?',
    'model.head.foo: unknown key; known keys: stackedConvs, featChannels',
    'model.steps[0].a: unknown key; known keys: at',
    'model.clip.maxnorm: unknown key; did you mean `max_norm`?',
  ]);
});
