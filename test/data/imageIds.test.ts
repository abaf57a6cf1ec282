import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignImageIds, fileNumber } from '../../src/data/imageIds.js';

test('assignImageIds: numbered names keep their number, the others are numbered after the largest', () => {
  assert.equal(fileNumber('dir/000012.png'), 12);
  assert.equal(fileNumber('a.png'), null);
  assert.equal(fileNumber('12a.png'), null);
  const r = assignImageIds(['d/3.png', 'd/a.png', 'd/10.jpg', 'd/b.png']);
  assert.deepEqual(r.entries, [
    { id: 3, file_name: 'd/3.png' },
    { id: 11, file_name: 'd/a.png' },
    { id: 10, file_name: 'd/10.jpg' },
    { id: 12, file_name: 'd/b.png' },
  ]);
  assert.equal(r.fromFileNumbers, 2);
  assert.equal(r.numberedAfter, 2);
  assert.deepEqual(
    assignImageIds(['x.png', 'y.png']).entries.map((e) => e.id),
    [1, 2],
  );
  assert.throws(
    () => assignImageIds(['d/3.png', 'd/003.jpg']),
    /two images map to image_id 3: d\/3\.png and d\/003\.jpg; rename one/,
  );
});
