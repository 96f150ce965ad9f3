//! Cycles in a directed graph: its strongly connected components (Tarjan's algorithm), and one
//! shortest cycle through a node, to print a component as a loop a reader can follow.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The strongly connected components of the graph on nodes `0..nodes` with these edges that
/// hold more than one node (a node with an edge to itself is not a cycle here), each sorted,
/// in the order of their smallest node.
pub(crate) fn components(nodes: usize, edges: &BTreeSet<(usize, usize)>) -> Vec<Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for &(from, to) in edges {
        if from < nodes && to < nodes && from != to {
            next[from].push(to);
        }
    }
    let mut tarjan = Tarjan {
        next: &next,
        index: vec![None; nodes],
        low: vec![0; nodes],
        on_stack: vec![false; nodes],
        stack: Vec::new(),
        counter: 0,
        found: Vec::new(),
    };
    for node in 0..nodes {
        if tarjan.index[node].is_none() {
            tarjan.visit(node);
        }
    }
    let mut found: Vec<Vec<usize>> = tarjan
        .found
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|mut c| {
            c.sort_unstable();
            c
        })
        .collect();
    found.sort();
    found
}

/// A shortest cycle through `start` using only edges between `members`: the nodes in order,
/// starting with `start` (the edge back to `start` is implied). `None` if there is none.
pub(crate) fn shortest_cycle(
    start: usize,
    members: &[usize],
    edges: &BTreeSet<(usize, usize)>,
) -> Option<Vec<usize>> {
    let inside: BTreeSet<usize> = members.iter().copied().collect();
    let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &(_, to) in edges.range((node, 0)..=(node, usize::MAX)) {
            if !inside.contains(&to) {
                continue;
            }
            if to == start {
                let mut path = vec![node];
                let mut at = node;
                while at != start {
                    at = came_from[&at];
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            if to != start && !came_from.contains_key(&to) {
                came_from.insert(to, node);
                queue.push_back(to);
            }
        }
    }
    None
}

struct Tarjan<'g> {
    next: &'g [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    /// Recursive: the depth is at most the number of module files of a crate.
    fn visit(&mut self, node: usize) {
        self.index[node] = Some(self.counter);
        self.low[node] = self.counter;
        self.counter += 1;
        self.stack.push(node);
        self.on_stack[node] = true;
        for i in 0..self.next[node].len() {
            let to = self.next[node][i];
            match self.index[to] {
                None => {
                    self.visit(to);
                    self.low[node] = self.low[node].min(self.low[to]);
                }
                Some(index) if self.on_stack[to] => {
                    self.low[node] = self.low[node].min(index);
                }
                Some(_) => {}
            }
        }
        if Some(self.low[node]) == self.index[node] {
            let mut component = Vec::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack[member] = false;
                component.push(member);
                if member == node {
                    break;
                }
            }
            self.found.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(edges: &[(usize, usize)]) -> BTreeSet<(usize, usize)> {
        edges.iter().copied().collect()
    }

    #[test]
    fn components_with_more_than_one_node_are_found() {
        // 0 -> 1 -> 2 -> 0 is a cycle; 3 -> 4 is not; 5 -> 5 is not counted.
        let edges = set(&[
            (0, 1),
            (1, 2),
            (2, 0),
            (2, 3),
            (3, 4),
            (5, 5),
            (6, 7),
            (7, 6),
        ]);
        assert_eq!(components(8, &edges), vec![vec![0, 1, 2], vec![6, 7]]);
        assert!(components(3, &set(&[(0, 1), (1, 2), (0, 2)])).is_empty());
    }

    #[test]
    fn the_shortest_cycle_is_walked_from_its_start() {
        // Two loops through 0: 0 -> 1 -> 2 -> 0 and 0 -> 3 -> 0.
        let edges = set(&[(0, 1), (1, 2), (2, 0), (0, 3), (3, 0)]);
        assert_eq!(shortest_cycle(0, &[0, 1, 2, 3], &edges), Some(vec![0, 3]));
        assert_eq!(shortest_cycle(1, &[0, 1, 2], &edges), Some(vec![1, 2, 0]));
        assert_eq!(shortest_cycle(0, &[0, 1], &edges), None);
    }
}
