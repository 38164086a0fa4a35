/**
 * SCIM error answers of the simulator (RFC 7644 §3.12) and the schema URNs it speaks.
 * Every failure inside the simulator is a ScimError; the server turns it into the error body.
 */

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
} as const;

/** The scimType values of RFC 7644 §3.12, Table 9. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** RFC 7644 §3.12: every scimType belongs to 400, except uniqueness (409). */
const statusOfScimType: Record<ScimType, number> = {
  invalidFilter: 400,
  tooMany: 400,
  uniqueness: 409,
  mutability: 400,
  invalidSyntax: 400,
  invalidPath: 400,
  noTarget: 400,
  invalidValue: 400,
  invalidVers: 400,
  sensitive: 400,
};

export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimType | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, detail: string, scimType?: ScimType, headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
    this.headers = headers;
  }

  /** The scimType's own status (RFC 7644 §3.12). */
  static of(scimType: ScimType, detail: string): ScimError {
    return new ScimError(statusOfScimType[scimType], detail, scimType);
  }

  toBody(): ScimErrorBody {
    return errorBody(this.status, this.message, this.scimType);
  }
}

export interface ScimErrorBody {
  schemas: [typeof SCHEMA.error];
  status: string;
  scimType?: ScimType;
  detail: string;
}

/** RFC 7644 §3.12: `status` is the HTTP status code as a string. */
export function errorBody(status: number, detail: string, scimType?: ScimType): ScimErrorBody {
  return scimType === undefined
    ? { schemas: [SCHEMA.error], status: String(status), detail }
    : { schemas: [SCHEMA.error], status: String(status), scimType, detail };
}
