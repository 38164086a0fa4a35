/** The CXone adapter's public surface: sign-in and discovery, and the connection the composition root builds. */
export { createCxoneConnection, type CxoneConnection, type CxoneConnectionOptions } from './connection.js';
export { CxoneSetupError } from './discovery.js';
export { createCxoneSignIn, CXONE_DEFAULT_ISSUER, type CxoneAuthMode, type CxoneSignIn, type CxoneSignInOptions } from './sign-in.js';
