import shared from '../pkg/models/testdata/migrations.json';
import { isMigratable, migrateQuery, QUERY_MODEL_VERSION } from './migrations';
import { FlowsQuery } from './types';

describe('query model migration (pkg/models/testdata/migrations.json, shared with the backend)', () => {
  it('is for the current version', () => {
    expect(shared.currentVersion).toBe(QUERY_MODEL_VERSION);
  });

  for (const c of shared.cases) {
    it(c.name, () => {
      const saved = c.saved as unknown as FlowsQuery;
      const before = JSON.parse(JSON.stringify(saved));
      const migrated = migrateQuery(saved);
      expect(saved).toEqual(before); // the saved query is not modified in place
      if ('error' in c && c.error) {
        // the backend rejects it with an error naming the version; the editor leaves it alone
        expect(migrated).toEqual(saved);
        expect(isMigratable(saved)).toBe(false);
      } else {
        expect(migrated).toEqual((c as { migrated: object }).migrated);
        expect(migrateQuery(migrated)).toEqual(migrated);
        expect(isMigratable(saved)).toBe(true);
      }
    });
  }
});
