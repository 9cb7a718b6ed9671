// The colour theme: light or dark, from the system's preference until the
// person picks one (kept in localStorage). Charts redraw when it changes.
import { createContext } from "preact";

export type Theme = "light" | "dark";

export const ThemeContext = createContext<{ theme: Theme; setTheme: (t: Theme) => void }>({ theme: "light", setTheme: () => {} });
