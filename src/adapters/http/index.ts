/** http adapter: being written (issue 3). */
export {};
