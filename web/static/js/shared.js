// The Shared page: "Stop sharing" buttons are handled by share.js.
import "./share.js";
