/**
 * The translation of a user PatchOp request (RFC 7644 §3.5.2) into CXone's `{path, value}`
 * form. Inputs are the RFC's own examples and the bodies Okta and Microsoft Entra ID
 * publish; expected outputs follow from the RFC's rules, not from another implementation.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PATCH_OPERATIONS, translateUserPatch, type UserPatchTranslation } from '../../src/core/scim-user-patch.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

function operations(result: UserPatchTranslation) {
  if (!result.ok) throw new Error(`refused: ${result.problem.scimType} ${result.problem.detail}`);
  return result.operations;
}

function problem(result: UserPatchTranslation) {
  if (result.ok) throw new Error(`translated: ${JSON.stringify(result.operations)}`);
  return result.problem;
}

describe('translateUserPatch: what the IdPs send', () => {
  it('when Entra disables a user with its default "False" string, then CXone gets active "false"', () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility ("Requests made to disable users", without feature flag)
    expect(operations(translateUserPatch(patch({ op: 'Replace', path: 'active', value: 'False' })))).toEqual([{ path: 'active', value: 'false' }]);
    expect(operations(translateUserPatch(patch({ op: 'Replace', path: 'active', value: 'True' })))).toEqual([{ path: 'active', value: 'true' }]);
  });

  it('when Entra disables a user with a boolean (SCIM-compliant mode), then CXone gets active "false"', () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ("Disable User")
    expect(operations(translateUserPatch(patch({ op: 'replace', path: 'active', value: false })))).toEqual([{ path: 'active', value: 'false' }]);
  });

  it('when Okta deactivates or reactivates a user with a path-less replace, then it becomes one active operation', () => {
    // https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20 ("Update a specific user (PATCH)")
    expect(operations(translateUserPatch(patch({ op: 'replace', value: { active: false } })))).toEqual([{ path: 'active', value: 'false' }]);
    expect(operations(translateUserPatch(patch({ op: 'replace', value: { active: true } })))).toEqual([{ path: 'active', value: 'true' }]);
  });

  it('when Entra updates the work email and the family name, then both keep their path', () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ("Update User [Multi-valued properties]")
    const body = patch(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
    );
    expect(operations(translateUserPatch(body))).toEqual([
      { path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { path: 'name.familyName', value: 'updatedFamilyName' },
    ]);
  });

  it('when Entra renames the userName, then it is one userName operation', () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ("Update User [Single-valued properties]")
    expect(operations(translateUserPatch(patch({ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' })))).toEqual([
      { path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' },
    ]);
  });

  it('when Entra (SCIM-compliant mode) replaces several attributes in one path-less operation with dotted keys, then each becomes its own operation', () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility ("Requests to replace multiple attributes", with feature flag), the enterprise extension left out of the mapping
    const body = patch(
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
      { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua' } },
    );
    expect(operations(translateUserPatch(body))).toEqual([
      { path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
      { path: 'displayName', value: 'Bjfe' },
      { path: 'name.givenName', value: 'Kkom' },
      { path: 'name.familyName', value: 'Unua' },
    ]);
  });

  it('when Entra (default mode) replaces attributes one by one, externalId included, then each keeps its path', () => {
    // same page, "Requests to replace multiple attributes", without feature flag (the enterprise extension left out of the mapping)
    const body = patch(
      { op: 'Replace', path: 'displayName', value: 'Pvlo' },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
      { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
      { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
      { op: 'Replace', path: 'externalId', value: 'Eqpj' },
    );
    expect(operations(translateUserPatch(body)).map((o) => o.path)).toEqual(['displayName', 'emails[type eq "work"].value', 'name.givenName', 'name.familyName', 'externalId']);
  });

  it('when the mapping still sends the enterprise extension, then the whole request is refused with invalidPath naming it', () => {
    // same page: Entra's default mapping sends urn:…:enterprise:2.0:User:employeeNumber, which CXone's user does not have
    const result = problem(translateUserPatch(patch({ op: 'replace', value: { displayName: 'Bjfe', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'Aklq' } })));
    expect(result.scimType).toBe('invalidPath');
    expect(result.detail).toContain('Operations[0]');
    expect(result.detail).toContain('employeeNumber');
  });
});

describe('translateUserPatch: RFC 7644 §3.5.2 semantics', () => {
  it('when op is written in any case, then it is read as the same operation', () => {
    for (const op of ['add', 'Add', 'ADD', 'replace', 'Replace', 'rEpLaCe']) {
      expect(operations(translateUserPatch(patch({ op, path: 'displayName', value: 'Babs' })))).toEqual([{ path: 'displayName', value: 'Babs' }]);
    }
  });

  it('when attribute names come in another case or with the core schema URN, then they are the canonical paths', () => {
    const body = patch(
      { op: 'replace', path: 'USERNAME', value: 'bjensen' },
      { op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:name.givenName', value: 'Barbara' },
      { op: 'replace', path: 'Emails[Type EQ "Work"].Value', value: 'bjensen@example.com' },
    );
    expect(operations(translateUserPatch(body))).toEqual([
      { path: 'userName', value: 'bjensen' },
      { path: 'name.givenName', value: 'Barbara' },
      { path: 'emails[type eq "work"].value', value: 'bjensen@example.com' },
    ]);
  });

  it('when a path-less value holds a complex name and a work email (RFC 7644 §3.5.2.3), then each sub-attribute becomes an operation', () => {
    const body = patch({ op: 'replace', value: { name: { givenName: 'Barbara', familyName: 'Jensen' }, emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] } });
    expect(operations(translateUserPatch(body))).toEqual([
      { path: 'name.givenName', value: 'Barbara' },
      { path: 'name.familyName', value: 'Jensen' },
      { path: 'emails[type eq "work"].value', value: 'bjensen@example.com' },
    ]);
  });

  it('when the path selects the work email element itself, then its value is what is set', () => {
    expect(operations(translateUserPatch(patch({ op: 'replace', path: 'emails[type eq "work"]', value: { value: 'b@example.com', type: 'work', primary: true } })))).toEqual([
      { path: 'emails[type eq "work"].value', value: 'b@example.com' },
    ]);
  });

  it("when RFC 7644 §3.5.2.1's example adds a home email and a nickName, then it is refused with invalidPath: CXone keeps only the work email", () => {
    const result = problem(translateUserPatch(patch({ op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home' }], nickname: 'Babs' } })));
    expect(result).toMatchObject({ scimType: 'invalidPath' });
    expect(result.detail).toContain('emails[0]');
  });

  it("when RFC 7644 §3.5.2's examples target addresses, a complex filter or an unknown attribute, then each is refused with invalidPath naming the path", () => {
    const paths = ['addresses[type eq "work"]', 'emails[type eq "work" and value ew "example.com"]', 'emails[type eq "home"].value', 'nickName', 'title', 'members', 'x509Certificates'];
    for (const path of paths) {
      const result = problem(translateUserPatch(patch({ op: 'replace', path, value: 'x' })));
      expect(result.scimType).toBe('invalidPath');
      expect(result.detail).toContain(JSON.stringify(path));
    }
  });

  it('when an operation removes an attribute (RFC 7644 §3.5.2.2), then it is refused with mutability: CXone only sets values', () => {
    const result = problem(translateUserPatch(patch({ op: 'remove', path: 'name.familyName' })));
    expect(result.scimType).toBe('mutability');
    expect(result.detail).toContain('name.familyName');
    expect(problem(translateUserPatch(patch({ op: 'Remove', path: 'title' }))).scimType).toBe('invalidPath');
    expect(problem(translateUserPatch(patch({ op: 'remove' }))).scimType).toBe('invalidSyntax');
    expect(problem(translateUserPatch(patch({ op: 'replace', path: 'displayName', value: null }))).scimType).toBe('mutability');
  });

  it('when a value has the wrong type, then it is refused with invalidValue naming the attribute', () => {
    const cases: [unknown, string][] = [
      [{ op: 'replace', path: 'active', value: 'no' }, 'active'],
      [{ op: 'replace', path: 'active', value: 0 }, 'active'],
      [{ op: 'replace', path: 'userName', value: 42 }, 'userName'],
      [{ op: 'replace', path: 'userName', value: '  ' }, 'userName'],
      [{ op: 'replace', path: 'displayName', value: 'a\u0000b' }, 'displayName'],
      [{ op: 'replace', path: 'displayName', value: 'x'.repeat(1025) }, 'displayName'],
      [{ op: 'replace', path: 'name', value: 'Barbara' }, 'name'],
      [{ op: 'replace', value: ['active'] }, 'Operations[0]'],
      [{ op: 'replace', value: { emails: [{ type: 'work', value: 'a@x' }, { type: 'work', value: 'b@x' }] } }, 'emails'],
    ];
    for (const [operation, field] of cases) {
      const result = problem(translateUserPatch(patch(operation)));
      expect(result.scimType).toBe('invalidValue');
      expect(result.detail).toContain(field);
    }
  });

  it('when the request is malformed, then it is refused with invalidSyntax saying what is wrong', () => {
    const cases: [unknown, string][] = [
      [null, 'JSON object'],
      [{ Operations: [{ op: 'replace', path: 'active', value: false }] }, 'schemas'],
      [{ schemas: [PATCH_OP] }, 'Operations'],
      [{ schemas: [PATCH_OP], Operations: [] }, 'Operations'],
      [patch('replace'), 'Operations[0]'],
      [patch({ op: 'move', path: 'active', value: false }), 'Operations[0].op'],
      [patch({ path: 'active', value: 'false' }), 'Operations[0].op'],
      [patch({ op: 'replace', path: 'active' }), 'needs a value'],
      [patch({ op: 'replace', path: 'active', value: false, from: 'x' }), '"from"'],
    ];
    for (const [body, text] of cases) {
      const result = problem(translateUserPatch(body));
      expect(result.scimType).toBe('invalidSyntax');
      expect(result.detail).toContain(text);
    }
  });

  it('when "schemas" and "Operations" come in another case, then they are read (attribute names are case-insensitive)', () => {
    expect(operations(translateUserPatch({ Schemas: [PATCH_OP.toUpperCase()], operations: [{ OP: 'Replace', Path: 'active', Value: 'false' }] }))).toEqual([{ path: 'active', value: 'false' }]);
  });

  it('when a request holds more operations than allowed, then it is refused before any is read', () => {
    const many = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'replace', path: 'active', value: true }));
    expect(problem(translateUserPatch(patch(...many))).detail).toContain(String(MAX_PATCH_OPERATIONS));
  });

  it('when one operation of several is bad, then nothing is translated', () => {
    const result = translateUserPatch(patch({ op: 'replace', path: 'active', value: false }, { op: 'replace', path: 'title', value: 'x' }));
    expect(result.ok).toBe(false);
    expect(problem(result).detail).toContain('Operations[1]');
  });
});
