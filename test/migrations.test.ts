import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, migrate } from '../db/knex.js';
import { migrationSource } from '../db/migrations/index.js';
import { createDatabase } from './support/infra.js';

const TABLES = [
  'instances',
  'instance_settings',
  'session_creds',
  'session_keys',
  'session_leases',
  'messages',
  'chats',
  'contacts',
  'groups',
  'chatbot_rules',
  'bulk_jobs',
  'bulk_recipients',
  'scheduled_messages',
  'media',
  'webhook_events',
  'rate_limit_buckets',
  'app_settings',
  'calls',
];

test('migrations started by several processes at once apply exactly once', async () => {
  const url = await createDatabase('migrations');
  const dbs = Array.from({ length: 4 }, () => createDb(url, { poolMax: 3 }));
  try {
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    assert.equal(applied.filter((names) => names.length > 0).length, 1, 'one process applied them');
    const all = await migrationSource.getMigrations([]);
    assert.ok(all.includes('001_init'));
    assert.deepEqual(applied.flat(), all);
    const rows = await dbs[0]!('knex_migrations').orderBy('id').select('name');
    assert.deepEqual(
      rows.map((r) => r.name),
      all,
    );
    for (const table of TABLES) assert.ok(await dbs[0]!.schema.hasTable(table), table);
    // Running again is a no-op.
    assert.deepEqual(await migrate(dbs[1]!), []);
  } finally {
    await Promise.all(dbs.map((db) => db.destroy()));
  }
});

test('deleting an instance cascades to every table that holds its data', async () => {
  const db = createDb(await createDatabase('cascade'), { poolMax: 2 });
  try {
    await migrate(db);
    await db('instances').insert({ id: 'x' });
    await db('instance_settings').insert({ instance_id: 'x' });
    await db('session_creds').insert({ instance_id: 'x', creds: '{}' });
    await db('chatbot_rules').insert({ instance_id: 'x', trigger_text: 'a', response: 'b' });
    const [job] = await db('bulk_jobs').insert({ instance_id: 'x' }).returning('id');
    await db('bulk_recipients').insert({ job_id: job.id, position: 0, recipient: '905' });
    await db('scheduled_messages').insert({ instance_id: 'x', recipient: '905', scheduled_at: new Date() });
    await db('media').insert({ instance_id: 'x', filename: 'f', mimetype: 'image/png', size: 1 });
    await db('instances').where({ id: 'x' }).delete();
    for (const table of ['instance_settings', 'session_creds', 'chatbot_rules', 'bulk_jobs', 'scheduled_messages', 'media']) {
      assert.equal((await db(table).where({ instance_id: 'x' })).length, 0, table);
    }
    assert.equal((await db('bulk_recipients').where({ job_id: job.id })).length, 0);
  } finally {
    await db.destroy();
  }
});
