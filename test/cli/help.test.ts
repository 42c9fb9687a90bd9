// Every command's --help states each default once (commander prints the default it was given; a
// description that repeats it printed it twice).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/process.js';

describe('--help', () => {
  for (const command of [['demo'], ['serve'], ['query', 'rejected'], ['query', 'similar'], ['feedback', 'add'], ['policy', 'list']]) {
    it(`orb-learn ${command.join(' ')} --help names each default once`, async () => {
      const r = await runCli([...command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout.replace(/\s+/g, ' ');
      assert.doesNotMatch(text, /\(default[^)]*\)\s*\(default/, 'an option states its default twice');
      if (command[0] !== 'serve' && command[0] !== 'demo') assert.match(text, /--server <URL>.*--ca <FILE>.*--client-cert <FILE>.*--client-key <FILE>.*--auth-token <TOKEN>/);
    });
  }
});
