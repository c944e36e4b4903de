/** placeholder until the package lands */
export const packageName = "@lycoris-ts/lycoris-config";
