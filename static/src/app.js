// Behaviour every page shares: copy buttons and confirmation before destructive forms.
import { installConfirmations, installCopyButtons } from "./common/forms.js";

installCopyButtons(document);
installConfirmations(document);
