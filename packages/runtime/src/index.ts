export * from "./io/index";
export * from "./model/index";
