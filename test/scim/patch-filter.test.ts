/**
 * PatchOp folding and filters against the examples of RFC 7644 (§3.4.2.2 filters, §3.5.2.1
 * add, §3.5.2.2 remove, §3.5.2.3 replace); the expected results are the RFC's, not a
 * library's. https://www.rfc-editor.org/rfc/rfc7644
 */
import { describe, expect, it } from 'vitest';
import { ScimHttpError } from '../../src/http/scim/errors.js';
import { memberPathValues, parseGroupFilter } from '../../src/http/scim/filter.js';
import { foldPatch } from '../../src/http/scim/patch.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BABS = '2819c223-7f76-453a-919d-413861904646';
const MANDY = '902c246b-6245-4190-8e05-00816be7344a';
const JAMES = '08e1d05d-121c-4561-8b96-473d93df9210';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const fold = (body: unknown) => foldPatch(body, 'g1', 1000);

function refusal(run: () => unknown): { status: number; scimType: string | undefined } {
  try {
    run();
  } catch (error) {
    if (error instanceof ScimHttpError) return { status: error.status, scimType: error.scimType };
    throw error;
  }
  throw new Error('not refused');
}

describe('PatchOp on a Group (RFC 7644 §3.5.2)', () => {
  it('when members are added (§3.5.2.1 example), then the change is a delta adding exactly them', () => {
    const body = patch({ op: 'add', path: 'members', value: [{ display: 'Babs Jensen', $ref: `https://example.com/v2/Users/${BABS}`, value: BABS }] });
    expect(fold(body)).toEqual({ members: { kind: 'delta', add: [{ value: BABS }], remove: [] } });
  });

  it('when one member is removed by a value filter (§3.5.2.2 example), then the delta removes exactly that member', () => {
    expect(fold(patch({ op: 'remove', path: `members[value eq "${BABS}"]` }))).toEqual({ members: { kind: 'delta', add: [], remove: [{ value: BABS }] } });
  });

  it('when all members are removed (§3.5.2.2 example), then the group is to hold no member', () => {
    expect(fold(patch({ op: 'remove', path: 'members' }))).toEqual({ members: { members: [] } });
  });

  it('when all members are removed and others added in one request (§3.5.2.2 example), then the group is to hold exactly those added', () => {
    const body = patch({ op: 'remove', path: 'members' }, { op: 'add', path: 'members', value: [{ value: BABS }, { value: MANDY }] });
    expect(fold(body)).toEqual({ members: { members: [{ value: BABS }, { value: MANDY }] } });
  });

  it('when members are replaced (§3.5.2.3 example), then the group is to hold exactly the new set', () => {
    const body = patch({ op: 'replace', path: 'members', value: [{ display: 'Babs Jensen', value: BABS }, { display: 'James Smith', value: JAMES }] });
    expect(fold(body)).toEqual({ members: { members: [{ value: BABS }, { value: JAMES }] } });
  });

  it('when a member is added then removed in one request, then it is not added (operations apply in order)', () => {
    expect(fold(patch({ op: 'add', path: 'members', value: [{ value: BABS }] }, { op: 'remove', path: `members[value eq "${BABS}"]` })).members).toEqual({ kind: 'delta', add: [], remove: [{ value: BABS }] });
  });

  it('when op and attribute names come in any case and the value is one object, then they are read as add/remove/replace and members', () => {
    const body = { schemas: [PATCH_OP], operations: [{ Op: 'Add', Path: 'Members', Value: { Value: BABS, Type: 'user' } }, { op: 'Replace', path: 'displayName', value: 'Ops' }] };
    expect(fold(body)).toEqual({ members: { kind: 'delta', displayName: 'Ops', add: [{ value: BABS, type: 'User' }], remove: [] }, displayName: 'Ops' });
  });

  it('when a path-less replace names attributes (§3.5.2.3), then displayName and externalId are taken and the group id is accepted unchanged', () => {
    expect(fold(patch({ op: 'replace', value: { id: 'g1', displayName: 'New name', externalId: 'ext-1' } }))).toEqual({ members: null, displayName: 'New name', externalId: 'ext-1' });
  });

  it('when a request is malformed, then each refusal has its RFC 7644 §3.12 scimType', () => {
    expect(refusal(() => fold({ Operations: [] }))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(() => fold(patch({ op: 'move', path: 'members' })))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    // §3.5.2.2: "If 'path' is unspecified, the operation fails with HTTP status code 400 and a 'scimType' error code of 'noTarget'."
    expect(refusal(() => fold(patch({ op: 'remove' })))).toEqual({ status: 400, scimType: 'noTarget' });
    expect(refusal(() => fold(patch({ op: 'add', path: 'owners', value: 'x' })))).toEqual({ status: 400, scimType: 'invalidPath' });
    expect(refusal(() => fold(patch({ op: 'remove', path: 'displayName' })))).toEqual({ status: 400, scimType: 'mutability' });
    expect(refusal(() => fold(patch({ op: 'replace', value: { id: 'other' } })))).toEqual({ status: 400, scimType: 'mutability' });
    expect(refusal(() => fold(patch({ op: 'add', path: 'members', value: [{ display: 'no value' }] })))).toEqual({ status: 400, scimType: 'invalidValue' });
    expect(refusal(() => fold(patch({ op: 'remove', path: 'members[display eq "x"]' })))).toEqual({ status: 400, scimType: 'invalidFilter' });
  });
});

describe('filters (RFC 7644 §3.4.2.2)', () => {
  it('when a group is looked up by displayName, externalId or id, then the filter names the attribute and the value, the attribute in any case and with its schema URN', () => {
    expect(parseGroupFilter('displayName eq "Sales Reps"')).toEqual({ attribute: 'displayName', value: 'Sales Reps' });
    expect(parseGroupFilter('DISPLAYNAME EQ "a \\"quoted\\" name"')).toEqual({ attribute: 'displayName', value: 'a "quoted" name' });
    expect(parseGroupFilter('urn:ietf:params:scim:schemas:core:2.0:Group:externalId eq "e1"')).toEqual({ attribute: 'externalId', value: 'e1' });
    expect(parseGroupFilter('id eq "g1"')).toEqual({ attribute: 'id', value: 'g1' });
  });

  it('when a filter uses another operator or attribute, or is not a filter, then 400 invalidFilter', () => {
    for (const text of ['displayName co "Sales"', 'displayName eq "a" or displayName eq "b"', 'members eq "x"', 'displayName pr', 'displayName eq', 'displayName eq 5']) {
      expect({ text, ...refusal(() => parseGroupFilter(text)) }).toEqual({ text, status: 400, scimType: 'invalidFilter' });
    }
  });

  it('when a PATCH path selects members, then their values are named, several joined by or', () => {
    expect(memberPathValues(`members[value eq "${BABS}"]`)).toEqual([BABS]);
    expect(memberPathValues(`members[value eq "${BABS}" or value eq "${MANDY}"]`)).toEqual([BABS, MANDY]);
    expect(memberPathValues('members')).toBeNull();
  });
});
