/**
 * SCIM error responses (RFC 7644 §3.12) for everything under /scim/v2: the body
 * `{ schemas: [urn:ietf:params:scim:api:messages:2.0:Error], status, scimType?, detail }`
 * with `status` as a string, sent as application/scim+json.
 */
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The scimType values of RFC 7644 §3.12 Table 9. */
export type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

export interface ScimErrorBody {
  readonly schemas: readonly [typeof SCIM_ERROR_SCHEMA];
  readonly status: string;
  readonly scimType?: ScimType;
  readonly detail: string;
}

/** An error the SCIM routes answer as it says. `detail` must never hold a secret. */
export class ScimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'ScimHttpError';
  }
}

export function scimErrorBody(status: number, scimType: ScimType | undefined, detail: string): ScimErrorBody {
  return { schemas: [SCIM_ERROR_SCHEMA], status: String(status), ...(scimType === undefined ? {} : { scimType }), detail };
}
