/** The input files of `sync` and `reconcile`: what is accepted, and that every refusal names its line or field. */
import { describe, expect, it } from 'vitest';
import { detectFormat, InputError, jsonErrorOffset, parseCsv, parseMembersFile, parseReconcileFile } from '../../src/cli/input.js';

const HEADER = 'group_id,member_id,member_type\n';
const json = (value: unknown) => JSON.stringify(value);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error.message;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('reconcile input: JSON', () => {
  it('when groups come as an array or under "groups", then both read the same, displayName and display kept', () => {
    const groups = [{ groupId: 'g1', displayName: 'One', members: [{ value: 'u1', type: 'User', display: 'U One' }, { value: 'g2', type: 'Group', $ref: 'ignored' }] }, { groupId: 'g2', members: [] }];
    const expected = [
      { groupId: 'g1', desired: { displayName: 'One', members: [{ value: 'u1', type: 'User', display: 'U One' }, { value: 'g2', type: 'Group' }] } },
      { groupId: 'g2', desired: { members: [] } },
    ];
    expect(parseReconcileFile('f.json', json(groups), 'json', 10)).toEqual(expected);
    expect(parseReconcileFile('f.json', `\uFEFF${json({ groups })}`, 'json', 10)).toEqual(expected);
  });

  it.each([
    ['not an array', json({ group: [] }), 'f.json: expected an array of groups or {"groups": [...]}, got an object'],
    ['a group not an object', json([1]), 'f.json: [0]: must be an object like {"groupId": "…", "members": [...]}, got number 1'],
    ['groupId missing', json([{ members: [] }]), 'f.json: [0].groupId: must be a string, got undefined'],
    ['groupId with a slash', json({ groups: [{ groupId: 'a/b', members: [] }] }), 'f.json: groups[0].groupId: "a/b" is not a valid group id'],
    ['members missing', json([{ groupId: 'g1' }]), 'f.json: [0].members: must be an array of members, got undefined'],
    ['type lower case', json([{ groupId: 'g1', members: [{ value: 'u1', type: 'user' }] }]), 'f.json: [0].members[0].type: must be one of "User", "Group", got string "user"'],
    ['value a number', json([{ groupId: 'g1', members: [{ value: 7, type: 'User' }] }]), 'f.json: [0].members[0].value: must be a string of 1 to 1024 characters, got number 7'],
    ['displayName empty', json([{ groupId: 'g1', displayName: '', members: [] }]), 'f.json: [0].displayName: must be a string of 1 to 1024 characters'],
    ['too many members', json([{ groupId: 'g1', members: [{ value: 'a', type: 'User' }, { value: 'b', type: 'User' }, { value: 'c', type: 'User' }] }]), 'f.json: [0].members: 3 members, more than MAX_MEMBERS (2)'],
    ['a group twice', json([{ groupId: 'g1', members: [] }, { groupId: 'g1', members: [] }]), 'f.json: group g1 is listed twice (again at [1])'],
    ['no groups', '[]', 'f.json: no groups'],
    ['broken JSON', '[\n  {"groupId": "g1",\n   "members": [}\n]', 'f.json: not valid JSON (line 3, column 16)'],
    ['truncated JSON', '[{"groupId": "g1"', 'f.json: not valid JSON (line 1, column 18)'],
  ])('when %s, then the refusal names the place', (_, text, message) => {
    expect(refusal(() => parseReconcileFile('f.json', text, 'json', 2))).toContain(message);
  });
});

describe('reconcile input: CSV', () => {
  it('when rows of one group are apart, quoted, CRLF-ended or typed by default, then they make one group each in first-seen order', () => {
    const text = `${HEADER}g1,u1,User\r\n"g2","u,2",\r\ng1,g3,Group\r\ng4,,\r\n`;
    expect(parseReconcileFile('f.csv', text, 'csv', 10)).toEqual([
      { groupId: 'g1', desired: { members: [{ value: 'u1', type: 'User' }, { value: 'g3', type: 'Group' }] } },
      { groupId: 'g2', desired: { members: [{ value: 'u,2', type: 'User' }] } },
      { groupId: 'g4', desired: { members: [] } },
    ]);
  });

  it('when the columns come in another order or without member_type, then they are read by name', () => {
    expect(parseReconcileFile('f.csv', 'member_id,group_id\nu1,g1\n', 'csv', 10)).toEqual([{ groupId: 'g1', desired: { members: [{ value: 'u1', type: 'User' }] } }]);
  });

  it('when a quoted field spans lines, then later records keep their own line numbers', () => {
    expect(parseCsv('f.csv', 'a,b\n"x\ny",z\nq,r\n').map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['x\ny', 'z']],
      [4, ['q', 'r']],
    ]);
  });

  it.each([
    ['an empty file', '', 'f.csv: empty; expected a header line'],
    ['an unknown column', 'group,member_id\ng1,u1\n', 'f.csv: line 1: unknown column "group"'],
    ['no member_id column', 'group_id,member_type\ng1,User\n', 'f.csv: line 1: no member_id column'],
    ['a short row', `${HEADER}g1,u1,User\ng1\n`, 'f.csv: line 3: 1 fields, but the header has 3'],
    ['a bad type', `${HEADER}g1,u1,Admin\n`, 'f.csv: line 2: member_type must be User or Group, got "Admin"'],
    ['an empty group_id', `${HEADER},u1,User\n`, 'f.csv: line 2: group_id is empty'],
    ['a type without a member', `${HEADER}g1,,Group\n`, 'f.csv: line 2: member_type without a member_id'],
    ['an unclosed quote', `${HEADER}g1,"u1,User\n`, 'f.csv: line 2: a quoted field is never closed'],
    ['a stray quote', `${HEADER}g1,u"1,User\n`, 'f.csv: line 2: a quote inside an unquoted field'],
    ['too many members', `${HEADER}g1,a,\ng1,b,\ng1,c,\n`, 'f.csv: line 4: group g1 has more than MAX_MEMBERS (2) members'],
    ['only a header', HEADER, 'f.csv: no groups'],
  ])('when %s, then the refusal names the line', (_, text, message) => {
    expect(refusal(() => parseReconcileFile('f.csv', text, 'csv', 2))).toContain(message);
  });
});

describe('input formats and the sync members file', () => {
  it('when no format is given, then the extension decides, else the first character', () => {
    expect(detectFormat('x.CSV', '[', undefined)).toBe('csv');
    expect(detectFormat('x.json', 'a,b', undefined)).toBe('json');
    expect(detectFormat('-', '  [{}]', undefined)).toBe('json');
    expect(detectFormat('export.txt', 'group_id,member_id', undefined)).toBe('csv');
    expect(detectFormat('x.json', '[', 'csv')).toBe('csv');
  });

  it('when the members file is the API body or a bare array, then both are read; anything else is refused by field', () => {
    expect(parseMembersFile('m.json', json({ displayName: 'D', members: [{ value: 'u1', type: 'User' }] }), 10)).toEqual({ displayName: 'D', members: [{ value: 'u1', type: 'User' }] });
    expect(parseMembersFile('m.json', json([{ value: 'g1', type: 'Group' }]), 10)).toEqual({ members: [{ value: 'g1', type: 'Group' }] });
    expect(refusal(() => parseMembersFile('m.json', json({ members: [{ value: 'u1', type: 'Robot' }] }), 10))).toBe('m.json: members[0].type: must be one of "User", "Group", got string "Robot"');
    expect(refusal(() => parseMembersFile('m.json', '"x"', 10))).toBe('m.json: expected {"members": [...]} or an array of members, got string "x"');
  });

  it('when an IdP-shaped file has members without type and attribute names in any case, then it reads as the API reads it', () => {
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g1', DisplayName: 'D', Members: [{ Value: 'u1' }, { value: 'g2', Type: 'Group', Display: 'Two', $ref: 'https://x/Groups/g2' }] };
    const expected = { displayName: 'D', members: [{ value: 'u1' }, { value: 'g2', type: 'Group', display: 'Two' }] };
    expect(parseMembersFile('m.json', json(body), 10)).toEqual(expected);
    expect(parseMembersFile('m.json', json(body.Members), 10)).toEqual({ members: expected.members });
    expect(parseReconcileFile('f.json', json([{ groupId: 'g1', ...body }]), 'json', 10)).toEqual([{ groupId: 'g1', desired: expected }]);
  });

  it('when a file holds an unknown attribute, or one attribute in two cases, then it is refused by field as the API refuses it', () => {
    expect(refusal(() => parseMembersFile('m.json', json({ members: [], dryrun: true }), 10))).toBe(
      'm.json: has an unknown attribute "dryrun": a sync request holds displayName and members (schemas, id, externalId and meta are ignored)',
    );
    expect(refusal(() => parseMembersFile('m.json', json([{ value: 'u1', primary: true }]), 10))).toBe(
      'm.json[0]: has an unknown attribute "primary": a member holds value, type and display ($ref is ignored)',
    );
    expect(refusal(() => parseReconcileFile('f.json', json([{ groupId: 'g1', members: [], Members: [] }]), 'json', 10))).toBe(
      'f.json: [0]: holds "members" and "Members": attribute names are case-insensitive (RFC 7643 §2.1); send one of them',
    );
  });

  it('when JSON is broken, then the offset found is where the parser must stop', () => {
    expect(jsonErrorOffset('{"a":1,}')).toBe(7);
    expect(jsonErrorOffset('[1] x')).toBe(4);
    expect(jsonErrorOffset('{"a":"b\\x"}')).toBe(8);
    expect(jsonErrorOffset('[1, 2.5e3, true, null, "\\u00e9"]')).toBe(32);
  });
});
