/**
 * Request and response schemas of /scim/v2/Users (RFC 7643 §4.1, RFC 7644 §3.3–§3.6): the
 * source of their OpenAPI. Bodies are typed attribute by attribute, so that a wrong type is
 * a 400 naming the field before anything reaches CXone; the attributes of RFC 7643 that
 * CXone's SCIM user does not have are accepted and not sent on (docs/scim-users.md says
 * which), and any other attribute is refused by name.
 */
import { Type } from 'typebox';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const NICE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

const MAX_TEXT = 1024;
const text = (description: string) => Type.String({ maxLength: MAX_TEXT, description });

export const ScimUserIdParams = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 256,
    // It becomes a path segment upstream: no "/", no control characters, not "." or "..".
    pattern: '^(?!\\.{1,2}$)[^/\\u0000-\\u001f\\u007f]+$',
    description: "The user's SCIM id, as CXone gave it (1–256 characters, no \"/\" or control characters)",
  }),
});

const attributeList = (description: string) => Type.Optional(Type.String({ maxLength: 2048, pattern: '^[A-Za-z0-9_$.:, -]*$', description }));

export const ScimUserReadQuery = Type.Object({
  attributes: attributeList('RFC 7644 §3.9: only these attributes (comma-separated; `name.givenName` and the core schema URN form allowed); id and schemas are always returned'),
  excludedAttributes: attributeList('RFC 7644 §3.9: every attribute but these (comma-separated); id and schemas are always returned'),
});

export const ScimUserListQuery = Type.Object({
  filter: Type.Optional(
    Type.String({
      maxLength: 2048,
      description: 'Only `userName eq "…"` (the query Okta and Entra ID send; attribute name and operator in any case). Any other filter is a 400 invalidFilter',
      examples: ['userName eq "alice.smith@example.com"'],
    }),
  ),
  startIndex: Type.Optional(Type.Integer({ description: '1-based index of the first result (RFC 7644 §3.4.2.4); below 1 counts as 1', default: 1 })),
  count: Type.Optional(Type.Integer({ description: 'Results per page (RFC 7644 §3.4.2.4); negative counts as 0; at most the route\'s maxResults', default: 100 })),
  ...ScimUserReadQuery.properties,
});

const multiValue = Type.Object(
  {
    value: text('The value'),
    type: Type.Optional(text('e.g. "work"')),
    primary: Type.Optional(Type.Boolean()),
    display: Type.Optional(text('Display text')),
  },
  { additionalProperties: false },
);

const optionalValue = Type.Object(
  {
    value: Type.Optional(text('The value')),
    type: Type.Optional(text('The type')),
    primary: Type.Optional(Type.Boolean()),
    display: Type.Optional(text('Display text')),
  },
  { additionalProperties: false },
);

/** A role as RFC 7643 has it, and as Entra ID sends an app role (with `displayName`). */
const role = Type.Object(
  {
    value: Type.Optional(text("The role (CXone's role id)")),
    display: Type.Optional(text('Its name')),
    displayName: Type.Optional(text('Its name, as Entra ID sends it')),
    type: Type.Optional(text('Accepted, not sent to CXone')),
    primary: Type.Optional(Type.Boolean({ description: 'Accepted, not sent to CXone' })),
  },
  { additionalProperties: false },
);

const reference = Type.Object({ value: Type.Optional(text('The id')), display: Type.Optional(text('Its name')) }, { additionalProperties: false });

/** `active` as a boolean, or as the string "True"/"False" in any case (what Entra ID sends in its default mode). */
export const ActiveValue = Type.Union([Type.Boolean(), Type.String({ pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$' })], {
  description: 'A boolean; the string "True" or "False" (any case) is read as one',
});

export const ScimUserBody = Type.Object(
  {
    schemas: Type.Array(Type.String({ maxLength: 256 }), { minItems: 1, maxItems: 10, description: `Must contain "${SCIM_USER_SCHEMA}"` }),
    userName: Type.String({ minLength: 1, maxLength: MAX_TEXT, description: 'Unique (case-insensitive) in CXone; Okta and Entra ID send the login / userPrincipalName' }),
    externalId: Type.Optional(text("The IdP's id of the user")),
    name: Type.Optional(
      Type.Object(
        {
          givenName: Type.Optional(text('First name (CXone requires it)')),
          familyName: Type.Optional(text('Last name (CXone requires it)')),
          middleName: Type.Optional(text('Middle name')),
          formatted: Type.Optional(text('Accepted, not sent to CXone')),
          honorificPrefix: Type.Optional(text('Accepted, not sent to CXone')),
          honorificSuffix: Type.Optional(text('Accepted, not sent to CXone')),
        },
        { additionalProperties: false },
      ),
    ),
    displayName: Type.Optional(text('Display name')),
    active: Type.Optional(ActiveValue),
    emails: Type.Optional(Type.Array(multiValue, { maxItems: 20, description: 'CXone requires one; the "work" email is the one PATCH can change' })),
    phoneNumbers: Type.Optional(Type.Array(multiValue, { maxItems: 20 })),
    userType: Type.Optional(text('User type')),
    timezone: Type.Optional(text('IANA time zone')),
    roles: Type.Optional(Type.Array(role, { maxItems: 50, description: "CXone's roles: sent as value and display (display or displayName) only" })),
    [NICE_USER_SCHEMA]: Type.Optional(
      Type.Object({ team: Type.Optional(reference), loginAuthenticator: Type.Optional(reference) }, { additionalProperties: false, description: "NICE's user extension: the user's team and login authenticator" }),
    ),
    // RFC 7643 attributes CXone's SCIM user does not have: accepted, typed, never sent on.
    id: Type.Optional(Type.String({ maxLength: 256, description: 'readOnly: ignored on POST; on PUT it must be the id of the path' })),
    password: Type.Optional(Type.String({ maxLength: MAX_TEXT, description: 'writeOnly: accepted and dropped (CXone users sign in through CXone or SSO); never stored, logged or sent' })),
    nickName: Type.Optional(text('Accepted, not sent to CXone')),
    profileUrl: Type.Optional(text('Accepted, not sent to CXone')),
    title: Type.Optional(text('Accepted, not sent to CXone')),
    preferredLanguage: Type.Optional(text('Accepted, not sent to CXone')),
    locale: Type.Optional(text('Accepted, not sent to CXone')),
    addresses: Type.Optional(
      Type.Array(
        Type.Object(
          {
            formatted: Type.Optional(text('Address part')),
            streetAddress: Type.Optional(text('Address part')),
            locality: Type.Optional(text('Address part')),
            region: Type.Optional(text('Address part')),
            postalCode: Type.Optional(text('Address part')),
            country: Type.Optional(text('Address part')),
            type: Type.Optional(text('Address part')),
            primary: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        { maxItems: 20, description: 'Accepted, not sent to CXone' },
      ),
    ),
    ims: Type.Optional(Type.Array(multiValue, { maxItems: 20, description: 'Accepted, not sent to CXone' })),
    photos: Type.Optional(Type.Array(multiValue, { maxItems: 20, description: 'Accepted, not sent to CXone' })),
    entitlements: Type.Optional(Type.Array(optionalValue, { maxItems: 50, description: 'Accepted, not sent to CXone' })),
    x509Certificates: Type.Optional(Type.Array(optionalValue, { maxItems: 20, description: 'Accepted, not sent to CXone' })),
    groups: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000, description: 'readOnly (RFC 7643 §4.1.2): ignored' })),
    meta: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'readOnly: ignored' })),
    [ENTERPRISE_USER_SCHEMA]: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'The enterprise extension: accepted, not sent to CXone (it has none)' })),
  },
  { additionalProperties: false, description: 'A SCIM user (RFC 7643 §4.1). Attribute names are read in any case' },
);

/**
 * PATCH bodies are checked by the translation (src/core/scim-user-patch.ts), which reads
 * member names in any case and names the operation and field at fault; the schema only
 * documents them and bounds their size.
 */
export const ScimUserPatchBody = Type.Object(
  {
    schemas: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 10, description: 'Must contain "urn:ietf:params:scim:api:messages:2.0:PatchOp"' })),
    Operations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            op: Type.Optional(Type.String({ maxLength: 16, description: '"add", "replace" or "remove", in any case ("remove" is refused: CXone\'s PATCH only sets values)' })),
            path: Type.Optional(Type.String({ maxLength: MAX_TEXT, description: 'active, userName, displayName, externalId, name.givenName, name.familyName or emails[type eq "work"].value; absent: the value is an object of those attributes' })),
            value: Type.Optional(Type.Unknown({ description: 'The new value; "active" takes a boolean or "True"/"False"' })),
          },
          { additionalProperties: true },
        ),
        { maxItems: 100, description: 'Required, 1–100 operations' },
      ),
    ),
  },
  { additionalProperties: true, description: 'A PatchOp request (RFC 7644 §3.5.2), as Okta and Entra ID send it; member names are read in any case' },
);

export const ScimUserResource = Type.Object(
  {
    schemas: Type.Optional(Type.Array(Type.String())),
    id: Type.Optional(Type.String()),
    userName: Type.Optional(Type.String()),
    active: Type.Optional(Type.Boolean()),
    meta: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true, description: 'The user as CXone holds it (RFC 7643 §4.1), meta.location pointing at this service; password never returned' },
);

export const ScimUserListResponse = Type.Object(
  {
    schemas: Type.Array(Type.String(), { examples: [[LIST_RESPONSE_SCHEMA]] }),
    totalResults: Type.Integer(),
    startIndex: Type.Integer(),
    itemsPerPage: Type.Integer(),
    Resources: Type.Array(ScimUserResource),
  },
  { description: 'A ListResponse (RFC 7644 §3.4.2)' },
);

export const ScimErrorResponse = (description: string) =>
  Type.Object(
    {
      schemas: Type.Optional(Type.Array(Type.String(), { examples: [['urn:ietf:params:scim:api:messages:2.0:Error']] })),
      status: Type.Optional(Type.String({ description: 'The HTTP status, as a string' })),
      scimType: Type.Optional(Type.String({ description: 'RFC 7644 §3.12 Table 9' })),
      detail: Type.Optional(Type.String({ description: 'What went wrong, naming the field; never a secret' })),
    },
    // Optional and open: whichever handler answers (the front door's, or the service's own before it), its body is sent whole.
    { additionalProperties: true, description },
  );
